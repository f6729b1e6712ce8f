// Admin: users (tags, passwords, permissions, limits) and virtual hosts (permissions,
// limits); policies and limits have their own panels in policies.tsx.
import { useState } from 'preact/hooks';
import { del, get, put, seg, tagList } from '../api.js';
import type { Session } from '../app.js';
import { num } from '../format.js';
import { go, href } from '../router.js';
import { act, usePoll, useVhostNames } from '../state.js';
import { ConfirmButton, KV, Loading, Section, Select, Table, Text } from '../widgets.js';
import { LimitsPanel, LimitsTable, PoliciesPanel } from './policies.js';

interface UserJson {
  name: string;
  tags: string[] | string;
  password_hash?: string;
  hashing_algorithm?: string;
  limits?: Record<string, number>;
}

interface VhostJson {
  name: string;
  description?: string;
  tags?: string[] | string;
  default_queue_type?: string;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
}

export interface PermissionJson {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

const PANELS: [string, string, (s: Session) => boolean][] = [
  ['users', 'Users', (s) => s.admin],
  ['vhosts', 'Virtual hosts', (s) => s.admin],
  ['policies', 'Policies', (s) => s.policymaker],
  ['limits', 'Limits', (s) => s.admin],
];

export function AdminPage({ session, panel }: { session: Session; panel: string }) {
  const shown = PANELS.filter(([, , ok]) => ok(session));
  const current = shown.find(([id]) => id === panel)?.[0] ?? shown[0]?.[0] ?? '';
  return (
    <div class="page admin">
      <nav class="subtabs">
        {shown.map(([id, label]) => (
          <a key={id} href={href('admin', id)} class={id === current ? 'active' : ''}>
            {label}
          </a>
        ))}
      </nav>
      <div class="subpage">
        {current === 'users' && <UsersPanel />}
        {current === 'vhosts' && <VhostsPanel />}
        {current === 'policies' && <PoliciesPanel />}
        {current === 'limits' && <LimitsPanel />}
      </div>
    </div>
  );
}

const TAGS = ['administrator', 'monitoring', 'policymaker', 'management', 'impersonator'];

function UsersPanel() {
  const users = usePoll(() => get<UserJson[]>('/api/users'), 'users');
  const perms = usePoll(() => get<PermissionJson[]>('/api/permissions'), 'permissions');
  const vhostsOf = (u: string): string => (perms.data ?? []).filter((p) => p.user === u).map((p) => p.vhost).join(', ');
  return (
    <>
      <h2>Users</h2>
      {users.data === undefined ? (
        <Loading error={users.error} what="users" />
      ) : (
        <Table
          testId="users"
          columns={[
            { label: 'Name', render: (u) => <a href={href('users', u.name)}>{u.name}</a> },
            { label: 'Tags', render: (u) => tagList(u.tags).join(', ') },
            { label: 'Can access virtual hosts', render: (u) => vhostsOf(u.name) || <span class="muted">No access</span> },
            { label: 'Has password', render: (u) => (u.password_hash ? '●' : '○') },
          ]}
          rows={users.data}
          rowKey={(u) => u.name}
        />
      )}
      <Section title="Add a user" open={false} testId="add-user">
        <UserForm onSaved={users.reload} />
      </Section>
    </>
  );
}

function UserForm(props: { name?: string; tags?: string[]; current?: UserJson; onSaved: () => void }) {
  const editing = props.name !== undefined;
  const [name, setName] = useState(props.name ?? '');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [tags, setTags] = useState((props.tags ?? []).join(', '));
  return (
    <form
      class="form"
      onSubmit={async (e) => {
        e.preventDefault();
        if (password !== again) {
          await act('', () => Promise.reject(new Error('The passwords do not match.')));
          return;
        }
        const body: Record<string, unknown> = { tags: tags.split(',').map((t) => t.trim()).filter((t) => t !== '').join(',') };
        // A PUT without a password clears it: leaving the field empty while editing sends
        // the current hash back instead, so only the tags change.
        if (password !== '' || !editing) body.password = password;
        else {
          body.password_hash = props.current?.password_hash ?? '';
          if (props.current?.hashing_algorithm !== undefined) body.hashing_algorithm = props.current.hashing_algorithm;
        }
        const ok = await act(editing ? `User ${name} updated.` : `User ${name} added.`, () => put(`/api/users/${seg(name)}`, body));
        if (ok) {
          setPassword('');
          setAgain('');
          if (!editing) setName('');
          props.onSaved();
        }
      }}
    >
      {!editing && <Text label="Username" name="username" value={name} onInput={setName} required />}
      <label class="field">
        <span>Password</span>
        <input type="password" name="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} placeholder={editing ? 'unchanged' : ''} />
      </label>
      <label class="field">
        <span>Password (again)</span>
        <input type="password" name="password2" autocomplete="new-password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
      </label>
      <div class="field">
        <span>Tags</span>
        <span>
          <input type="text" name="tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
          <span class="suggest">
            Set:{' '}
            {TAGS.map((t) => (
              <a key={t} href="javascript:void 0" onClick={() => setTags(t)}>
                {t}
              </a>
            ))}
          </span>
        </span>
      </div>
      <div class="buttons">
        <button type="submit" class="primary">
          {editing ? 'Update user' : 'Add user'}
        </button>
      </div>
    </form>
  );
}

/** Sets configure/write/read for one user in one vhost; the other end is chosen from a list. */
function PermissionForm(props: { user?: string; vhost?: string; onSaved: () => void }) {
  const vhosts = useVhostNames();
  const users = usePoll(() => (props.user === undefined ? get<UserJson[]>('/api/users') : Promise.resolve([] as UserJson[])), `user-names:${props.user ?? ''}`);
  const [vhost, setVhost] = useState(props.vhost ?? '/');
  const [user, setUser] = useState(props.user ?? '');
  const [configure, setConfigure] = useState('.*');
  const [write, setWrite] = useState('.*');
  const [read, setRead] = useState('.*');
  const u = props.user ?? user;
  const v = props.vhost ?? vhost;
  return (
    <form
      class="form"
      data-testid="permission-form"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await act(`Permissions of ${u} in ${v} set.`, () => put(`/api/permissions/${seg(v)}/${seg(u)}`, { configure, write, read }))) props.onSaved();
      }}
    >
      {props.vhost === undefined && <Select label="Virtual host" name="vhost" value={vhost} onChange={setVhost} options={vhosts ?? ['/']} />}
      {props.user === undefined && <Select label="User" name="user" value={user} onChange={setUser} options={['', ...(users.data ?? []).map((x) => x.name)]} />}
      <Text label="Configure regexp" name="configure" value={configure} onInput={setConfigure} />
      <Text label="Write regexp" name="write" value={write} onInput={setWrite} />
      <Text label="Read regexp" name="read" value={read} onInput={setRead} />
      <div class="buttons">
        <button type="submit" class="primary">
          Set permission
        </button>
      </div>
    </form>
  );
}

function PermissionTable(props: { rows: PermissionJson[] | undefined; error?: Error; by: 'user' | 'vhost'; reload: () => void }) {
  if (props.rows === undefined) return <Loading error={props.error} what="permissions" />;
  return (
    <Table
      testId="permissions"
      columns={[
        props.by === 'user'
          ? { label: 'Virtual host', render: (p: PermissionJson) => <a href={href('vhosts', p.vhost)}>{p.vhost}</a> }
          : { label: 'User', render: (p: PermissionJson) => <a href={href('users', p.user)}>{p.user}</a> },
        { label: 'Configure', render: (p) => <code>{p.configure}</code> },
        { label: 'Write', render: (p) => <code>{p.write}</code> },
        { label: 'Read', render: (p) => <code>{p.read}</code> },
        {
          label: '',
          render: (p) => (
            <button type="button" class="small" onClick={async () => (await act('Permission cleared.', () => del(`/api/permissions/${seg(p.vhost)}/${seg(p.user)}`))) && props.reload()}>
              Clear
            </button>
          ),
        },
      ]}
      rows={props.rows}
      rowKey={(p) => `${p.user}\u0000${p.vhost}`}
      empty="No permissions."
    />
  );
}

export function UserPage({ name }: { name: string }) {
  const user = usePoll(() => get<UserJson>(`/api/users/${seg(name)}`), `user:${name}`);
  const perms = usePoll(() => get<PermissionJson[]>(`/api/users/${seg(name)}/permissions`), `user-perms:${name}`);
  const limits = usePoll(() => get<{ user: string; value: Record<string, number> }[]>(`/api/user-limits/${seg(name)}`), `user-limits:${name}`);
  if (user.data === undefined) return <Loading error={user.error} what={`user ${name}`} />;
  const u = user.data;
  return (
    <div class="page">
      <h2>
        User <span class="name">{name}</span>
      </h2>
      <Section title="Details">
        <KV rows={[['Tags', tagList(u.tags).join(', ') || <span class="muted">none</span>], ['Password hashing', u.hashing_algorithm]]} />
      </Section>
      <Section title="Permissions">
        <PermissionTable rows={perms.data} error={perms.error} by="user" reload={perms.reload} />
        <h4>Set permission</h4>
        <PermissionForm user={name} onSaved={perms.reload} />
      </Section>
      <Section title="Limits" open={false} testId="limits-section">
        <LimitsTable kind="user" owner={name} rows={limits.data?.map((l) => ({ owner: l.user, value: l.value }))} error={limits.error} reload={limits.reload} />
      </Section>
      <Section title="Update this user" open={false} testId="update-user">
        <UserForm name={name} tags={tagList(u.tags)} current={u} onSaved={user.reload} />
      </Section>
      <Section title="Delete this user" open={false} testId="delete-user">
        <ConfirmButton
          label="Delete"
          question={`Delete user ${name}?`}
          onConfirm={async () => {
            if (await act(`User ${name} deleted.`, () => del(`/api/users/${seg(name)}`))) go('admin', 'users');
          }}
        />
      </Section>
    </div>
  );
}

function VhostsPanel() {
  const vhosts = usePoll(() => get<VhostJson[]>('/api/vhosts'), 'vhosts');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [dqt, setDqt] = useState('classic');
  return (
    <>
      <h2>Virtual hosts</h2>
      {vhosts.data === undefined ? (
        <Loading error={vhosts.error} what="virtual hosts" />
      ) : (
        <Table
          testId="vhosts"
          columns={[
            { label: 'Name', render: (v) => <a href={href('vhosts', v.name)}>{v.name}</a> },
            { label: 'Description', render: (v) => v.description ?? '' },
            { label: 'Default queue type', render: (v) => v.default_queue_type ?? '' },
            { label: 'Ready', num: true, render: (v) => num(v.messages_ready) },
            { label: 'Unacked', num: true, render: (v) => num(v.messages_unacknowledged) },
            { label: 'Total', num: true, render: (v) => num(v.messages) },
          ]}
          rows={vhosts.data}
          rowKey={(v) => v.name}
        />
      )}
      <Section title="Add a new virtual host" open={false} testId="add-vhost">
        <form
          class="form"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await act(`Virtual host ${name} added.`, () => put(`/api/vhosts/${seg(name)}`, { description, default_queue_type: dqt }))) {
              setName('');
              setDescription('');
              vhosts.reload();
            }
          }}
        >
          <Text label="Name" name="name" value={name} onInput={setName} required />
          <Text label="Description" value={description} onInput={setDescription} />
          <Select label="Default queue type" value={dqt} onChange={setDqt} options={['classic', 'quorum', 'stream']} />
          <div class="buttons">
            <button type="submit" class="primary">
              Add virtual host
            </button>
          </div>
        </form>
      </Section>
    </>
  );
}

export function VhostPage({ name }: { name: string }) {
  const vhost = usePoll(() => get<VhostJson>(`/api/vhosts/${seg(name)}`), `vhost:${name}`);
  const perms = usePoll(() => get<PermissionJson[]>(`/api/vhosts/${seg(name)}/permissions`), `vhost-perms:${name}`);
  const limits = usePoll(() => get<{ vhost: string; value: Record<string, number> }[]>(`/api/vhost-limits/${seg(name)}`), `vhost-limits:${name}`);
  if (vhost.data === undefined) return <Loading error={vhost.error} what={`virtual host ${name}`} />;
  const v = vhost.data;
  return (
    <div class="page">
      <h2>
        Virtual host <span class="name">{name}</span>
      </h2>
      <Section title="Details">
        <KV
          rows={[
            ['Description', v.description],
            ['Default queue type', v.default_queue_type],
            ['Messages', `${num(v.messages ?? 0)} (${num(v.messages_ready ?? 0)} ready, ${num(v.messages_unacknowledged ?? 0)} unacked)`],
          ]}
        />
      </Section>
      <Section title="Permissions">
        <PermissionTable rows={perms.data} error={perms.error} by="vhost" reload={perms.reload} />
        <h4>Set permission</h4>
        <PermissionForm vhost={name} onSaved={perms.reload} />
      </Section>
      <Section title="Limits">
        <LimitsTable kind="vhost" owner={name} rows={limits.data?.map((l) => ({ owner: l.vhost, value: l.value }))} error={limits.error} reload={limits.reload} />
      </Section>
      <Section title="Delete this virtual host" open={false} testId="delete-vhost">
        <ConfirmButton
          label="Delete"
          question={`Delete virtual host ${name} and everything in it?`}
          onConfirm={async () => {
            if (await act(`Virtual host ${name} deleted.`, () => del(`/api/vhosts/${seg(name)}`))) go('admin', 'vhosts');
          }}
        />
      </Section>
    </div>
  );
}
