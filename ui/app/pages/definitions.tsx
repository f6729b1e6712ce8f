// Definitions: download the broker's (or one vhost's) definitions as a JSON file, and
// upload one.
import { useState } from 'preact/hooks';
import { get, post, seg } from '../api.js';
import { num } from '../format.js';
import { notify, errorText, usePoll, useVhostNames } from '../state.js';
import { Section, Select } from '../widgets.js';

type Definitions = Record<string, unknown>;

function counts(d: Definitions): string {
  const keys = ['users', 'vhosts', 'permissions', 'policies', 'queues', 'exchanges', 'bindings', 'parameters'];
  return keys
    .filter((k) => Array.isArray(d[k]))
    .map((k) => `${num((d[k] as unknown[]).length)} ${k}`)
    .join(', ');
}

export function DefinitionsPage() {
  const vhosts = useVhostNames();
  const options: [string, string][] = [['', 'All'], ...(vhosts ?? []).map((v): [string, string] => [v, v])];
  const [exportVhost, setExportVhost] = useState('');
  const [importVhost, setImportVhost] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div class="page">
      <h2>Definitions</h2>
      <p class="muted">
        Definitions are the broker's users, virtual hosts, permissions, parameters, policies, queues, exchanges and bindings, in RabbitMQ's format: a file exported here imports into
        RabbitMQ, and the other way round. Messages are not part of them.
      </p>
      <Section title="Export definitions" testId="export">
        <form
          class="form"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              const d = await get<Definitions>(exportVhost === '' ? '/api/definitions' : `/api/definitions/${seg(exportVhost)}`);
              const blob = new Blob([JSON.stringify(d, null, 2)], { type: 'application/json' });
              const a = document.createElement('a');
              a.href = URL.createObjectURL(blob);
              a.download = filename(exportVhost);
              document.body.appendChild(a);
              a.click();
              a.remove();
              setTimeout(() => URL.revokeObjectURL(a.href), 10000);
              notify('ok', `Definitions downloaded: ${counts(d)}.`);
            } catch (err) {
              notify('error', errorText(err));
            }
          }}
        >
          <Select label="Virtual host" value={exportVhost} onChange={setExportVhost} options={options} />
          <div class="buttons">
            <button type="submit" class="primary" data-testid="download-definitions">
              Download broker definitions
            </button>
          </div>
        </form>
      </Section>
      <Section title="Import definitions" testId="import">
        <form
          class="form"
          onSubmit={async (e) => {
            e.preventDefault();
            if (file === null) return;
            setBusy(true);
            try {
              const d = JSON.parse(await file.text()) as Definitions;
              await post(importVhost === '' ? '/api/definitions' : `/api/definitions/${seg(importVhost)}`, d);
              notify('ok', `Definitions imported from ${file.name}: ${counts(d)}.`);
            } catch (err) {
              notify('error', err instanceof SyntaxError ? `${file.name} is not JSON: ${err.message}` : errorText(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <label class="field">
            <span>Definitions file</span>
            <input type="file" name="file" accept=".json,application/json" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
          </label>
          <Select label="Virtual host" value={importVhost} onChange={setImportVhost} options={options} />
          <div class="buttons">
            <button type="submit" class="primary" disabled={file === null || busy}>
              Upload broker definitions
            </button>
          </div>
        </form>
      </Section>
    </div>
  );
}

function filename(vhost: string): string {
  const d = new Date();
  const p = (x: number): string => String(x).padStart(2, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const host = location.hostname.replace(/[^A-Za-z0-9.-]/g, '_');
  return `${host}${vhost === '' ? '' : `_${vhost.replace(/[^A-Za-z0-9.-]/g, '_')}`}_${stamp}.json`;
}
