// Entry point of the management web UI (bundled by ui/build.ts into dist/ui/www/app.js).
import { render } from 'preact';
import { App } from './app.js';
import './style.css';

render(<App />, document.getElementById('app')!);
