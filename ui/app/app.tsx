// The shell: login, the header (broker, vhost filter, refresh, user), the tabs, the notice
// line, and the page the hash names.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, credentials, get, login, logout, onLogout, tagList, type Whoami } from './api.js';
import { AdminPage, UserPage, VhostPage } from './pages/admin.js';
import { ChannelPage, ChannelsPage, ConnectionPage, ConnectionsPage } from './pages/connections.js';
import { DefinitionsPage } from './pages/definitions.js';
import { ExchangePage, ExchangesPage } from './pages/exchanges.js';
import { Overview } from './pages/overview.js';
import { QueuePage } from './pages/queue.js';
import { QueuesPage } from './pages/queues.js';
import { href, useRoute } from './router.js';
import { errorText, setSetting, useNotice, useSettings } from './state.js';

export interface Session {
  user: Whoami;
  tags: string[];
  admin: boolean;
  policymaker: boolean;
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(credentials() !== null);
  const [loginError, setLoginError] = useState('');

  useEffect(() => onLogout(() => setSession(null)), []);
  useEffect(() => {
    // A reload keeps the session: check the stored credentials once.
    if (credentials() === null) return;
    get<Whoami>('/api/whoami').then(
      (me) => {
        setSession(toSession(me));
        setChecking(false);
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) logout();
        else setLoginError(errorText(err));
        setChecking(false);
      },
    );
  }, []);

  if (checking) return <p class="muted pad">Connecting…</p>;
  if (session === null) {
    return (
      <Login
        error={loginError}
        onLogin={async (u, p) => {
          try {
            const me = await login(u, p);
            setLoginError('');
            setSession(toSession(me));
          } catch (err) {
            setLoginError(err instanceof ApiError && err.status === 401 ? (err.reason === 'Not management user' ? 'Not management user' : 'Login failed') : errorText(err));
          }
        }}
      />
    );
  }
  return <Shell session={session} />;
}

function toSession(me: Whoami): Session {
  const tags = tagList(me.tags);
  return { user: me, tags, admin: tags.includes('administrator'), policymaker: tags.includes('administrator') || tags.includes('policymaker') };
}

function Login(props: { error: string; onLogin: (user: string, password: string) => Promise<void> }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <div class="login">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          await props.onLogin(user, password);
          setBusy(false);
        }}
      >
        <h1>
          <img src="favicon.svg" alt="" width={28} height={28} /> Warren
        </h1>
        <label class="field">
          <span>Username</span>
          <input name="username" autocomplete="username" value={user} onInput={(e) => setUser(e.currentTarget.value)} autofocus />
        </label>
        <label class="field">
          <span>Password</span>
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Login
        </button>
        {props.error !== '' && (
          <p class="error" data-testid="login-error">
            {props.error}
          </p>
        )}
      </form>
    </div>
  );
}

interface Overview {
  cluster_name?: string;
  product_name?: string;
  product_version?: string;
  rabbitmq_version?: string;
  node?: string;
}

const TABS: [string, string, (s: Session) => boolean][] = [
  ['', 'Overview', () => true],
  ['connections', 'Connections', () => true],
  ['channels', 'Channels', () => true],
  ['exchanges', 'Exchanges', () => true],
  ['queues', 'Queues', () => true],
  ['admin', 'Admin', (s) => s.policymaker],
  ['definitions', 'Definitions', (s) => s.admin],
];

function Shell({ session }: { session: Session }) {
  const route = useRoute();
  const settings = useSettings();
  const [info, setInfo] = useState<Overview>({});
  const [vhosts, setVhosts] = useState<string[]>([]);
  useEffect(() => {
    get<Overview>('/api/overview?columns=cluster_name,product_name,product_version,rabbitmq_version,node').then(setInfo, () => undefined);
    get<{ name: string }[]>('/api/vhosts?columns=name').then(
      (v) => setVhosts(v.map((x) => x.name)),
      () => undefined,
    );
  }, [route[0]]);
  const tab = route[0] ?? '';
  const active = tab === 'users' || tab === 'vhosts' ? 'admin' : tab;
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/">
          <img src="favicon.svg" alt="" width={22} height={22} />
          <span>{info.product_name ?? 'Warren'}</span>
          <span class="version">{info.product_version ?? info.rabbitmq_version ?? ''}</span>
        </a>
        <span class="cluster" title="cluster name">
          {info.cluster_name ?? ''}
        </span>
        <span class="spacer" />
        <label>
          Virtual host{' '}
          <select name="vhost-filter" value={settings.vhost} onChange={(e) => setSetting('vhost', e.currentTarget.value)}>
            <option value="">All</option>
            {vhosts.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          Refresh{' '}
          <select name="refresh" value={String(settings.refresh)} onChange={(e) => setSetting('refresh', Number(e.currentTarget.value))}>
            {[
              [1000, 'every second'],
              [5000, 'every 5 seconds'],
              [10000, 'every 10 seconds'],
              [30000, 'every 30 seconds'],
              [0, 'never'],
            ].map(([v, l]) => (
              <option key={v} value={String(v)}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <span class="user" data-testid="user">
          {session.user.name}
        </span>
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      <nav class="tabs">
        {TABS.filter(([, , show]) => show(session)).map(([id, label]) => (
          <a key={id} href={`#/${id}`} class={active === id ? 'active' : ''}>
            {label}
          </a>
        ))}
      </nav>
      <NoticeLine />
      <main>
        <Page route={route} session={session} />
      </main>
    </div>
  );
}

function NoticeLine() {
  const n = useNotice();
  const [shown, setShown] = useState<number | null>(null);
  useEffect(() => {
    if (n === null || n.text === '') return;
    setShown(n.at);
    if (n.kind === 'ok') {
      const t = setTimeout(() => setShown(null), 6000);
      return () => clearTimeout(t);
    }
  }, [n?.at]);
  if (n === null || n.text === '' || shown !== n.at) return <div class="notice empty" />;
  return (
    <div class={`notice ${n.kind}`} data-testid="notice" role="status">
      {n.text}
      <button type="button" class="link" onClick={() => setShown(null)} title="dismiss">
        ×
      </button>
    </div>
  );
}

function Page({ route, session }: { route: string[]; session: Session }): ComponentChildren {
  const [tab, a, b] = route;
  switch (tab) {
    case undefined:
    case '':
      return <Overview />;
    case 'connections':
      return a !== undefined ? <ConnectionPage name={a} /> : <ConnectionsPage />;
    case 'channels':
      return a !== undefined ? <ChannelPage name={a} /> : <ChannelsPage />;
    case 'exchanges':
      return a !== undefined && b !== undefined ? <ExchangePage vhost={a} name={b} /> : <ExchangesPage />;
    case 'queues':
      return a !== undefined && b !== undefined ? <QueuePage vhost={a} name={b} /> : <QueuesPage />;
    case 'admin':
      return <AdminPage session={session} panel={a ?? ''} />;
    case 'users':
      return a !== undefined ? <UserPage name={a} /> : <AdminPage session={session} panel="users" />;
    case 'vhosts':
      return a !== undefined ? <VhostPage name={a} /> : <AdminPage session={session} panel="vhosts" />;
    case 'definitions':
      return <DefinitionsPage />;
    default:
      return (
        <p>
          No such page. <a href={href()}>Overview</a>
        </p>
      );
  }
}
