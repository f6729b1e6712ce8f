/**
 * The user name a client certificate stands for, as RabbitMQ's rabbitmq_auth_mechanism_ssl
 * finds it (rabbit_ssl:peer_cert_auth_name and rabbit_cert_info): by default the whole
 * subject distinguished name, formatted the way RabbitMQ formats it ("CN=alice,O=Org,C=GB":
 * last RDN first, RFC 4514 escaping, non-printable and non-ASCII bytes as \XX); with
 * ssl_cert_login_from = common_name the CN (several joined with ","); with
 * subject_alternative_name the Nth SAN of a type. Read straight from the DER, so that
 * attribute order, multi-valued RDNs and string types come out as in RabbitMQ.
 */

interface Tlv {
  /** Where the tag byte is. */
  pos: number;
  tag: number;
  /** The contents, start to end. */
  start: number;
  end: number;
  next: number;
}

function tlv(b: Buffer, pos: number): Tlv {
  if (pos + 2 > b.length) throw new Error('truncated DER');
  const tag = b[pos]!;
  let len = b[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > b.length) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > b.length) throw new Error('truncated DER');
  return { pos, tag, start, end, next: end };
}

function children(b: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = tlv(b, p);
    out.push(t);
    p = t.next;
  }
  return out;
}

function oid(b: Buffer, t: Tlv): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** rabbit_cert_info's attribute names; other attributes are written as their dotted OID. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.4': 'SN',
  '2.5.4.42': 'GIVENNAME',
  '2.5.4.43': 'INITIALS',
  '2.5.4.44': 'GENERATIONQUALIFIER',
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'TITLE',
  '2.5.4.6': 'C',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.65': 'PSEUDONYM',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'EMAILADDRESS',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.1': 'UID',
};

const UTF8 = 0x0c;
const PRINTABLE = 0x13;
const TELETEX = 0x14;
const IA5 = 0x16;
const UNIVERSAL = 0x1c;
const BMP = 0x1e;
/** The string types OTP decodes for attributes it knows (DirectoryString, plus IA5, Numeric, Visible). */
const STRING_TAGS = new Set([UTF8, 0x12, PRINTABLE, TELETEX, IA5, 0x1a, UNIVERSAL, BMP]);

/** A string value as the UTF-8 bytes RabbitMQ ends up with (format_directory_string). */
function stringBytes(b: Buffer, t: Tlv): Buffer | null {
  const raw = b.subarray(t.start, t.end);
  switch (t.tag) {
    case TELETEX:
      return Buffer.from(raw.toString('latin1'), 'utf8');
    case BMP: {
      let s = '';
      for (let i = 0; i + 1 < raw.length; i += 2) s += String.fromCharCode(raw.readUInt16BE(i));
      return Buffer.from(s, 'utf8');
    }
    case UNIVERSAL: {
      let s = '';
      for (let i = 0; i + 3 < raw.length; i += 4) s += String.fromCodePoint(raw.readUInt32BE(i));
      return Buffer.from(s, 'utf8');
    }
    default:
      return STRING_TAGS.has(t.tag) ? Buffer.from(raw) : null;
  }
}

/** An attribute value as rabbit_cert_info:format_asn1_value leaves it, as bytes. */
function valueBytes(b: Buffer, t: Tlv): Buffer {
  const s = stringBytes(b, t);
  if (s !== null) return s;
  // OTP could not decode it: Erlang prints the undecoded DER binary with ~p.
  return Buffer.from(`<<${[...b.subarray(t.pos, t.end)].join(',')}>>`, 'latin1');
}

/** rabbit_cert_info:escape_rdn_value, over the value's bytes. */
function escapeRdnValue(v: Buffer): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    const ch = String.fromCharCode(c);
    if (i === 0 && (ch === ' ' || ch === '#')) out += '\\' + ch;
    else if (i === v.length - 1 && ch === ' ') out += '\\ ';
    else if ('"+,;<>\\'.includes(ch)) out += '\\' + ch;
    else if (c < 32 || c >= 126) out += '\\' + c.toString(16).toUpperCase().padStart(2, '0');
    else out += ch;
  }
  return out;
}

interface Attribute {
  oid: string;
  value: Tlv;
}

/** The subject's RDNs, in certificate order, and the certificate's extensions. */
function parseCertificate(der: Buffer): { subject: Attribute[][]; extensions: Map<string, Buffer> } {
  const cert = tlv(der, 0);
  const tbs = children(der, cert)[0];
  if (tbs === undefined) throw new Error('not a certificate');
  const fields = children(der, tbs);
  // version [0] is optional; then serial, signature, issuer, validity, subject.
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subjectTlv = fields[base + 4];
  if (subjectTlv === undefined) throw new Error('certificate has no subject');
  const subject = children(der, subjectTlv).map((rdn) =>
    children(der, rdn).map((atv) => {
      const [type, value] = children(der, atv);
      return { oid: oid(der, type!), value: value! };
    }),
  );
  const extensions = new Map<string, Buffer>();
  const extField = fields.find((f) => f.tag === 0xa3);
  if (extField !== undefined) {
    const seq = children(der, extField)[0]!;
    for (const ext of children(der, seq)) {
      const parts = children(der, ext);
      const value = parts[parts.length - 1]!;
      extensions.set(oid(der, parts[0]!), der.subarray(value.start, value.end));
    }
  }
  return { subject, extensions };
}

/** The subject DN as RabbitMQ formats it: RDNs last-first, joined with ","; multi-valued with "+". */
export function subjectDn(der: Buffer): string {
  const { subject } = parseCertificate(der);
  return subject
    .map((rdn) => rdn.map((a) => `${ATTRIBUTE_NAMES[a.oid] ?? a.oid}=${escapeRdnValue(valueBytes(der, a.value))}`).join('+'))
    .reverse()
    .join(',');
}

/** The CN values in subject order, or null when there is none. */
export function commonNames(der: Buffer): string[] | null {
  const { subject } = parseCertificate(der);
  const cns = subject.flat().filter((a) => a.oid === '2.5.4.3').map((a) => valueBytes(der, a.value).toString('utf8'));
  return cns.length === 0 ? null : cns;
}

const SAN_TAGS: Record<string, number> = { other_name: 0xa0, email: 0x81, dns: 0x82, uri: 0x86, ip: 0x87 };

/** The subject alternative names of one type, in order (IP addresses as text). */
export function subjectAltNames(der: Buffer, type: keyof typeof SAN_TAGS): string[] {
  const ext = parseCertificate(der).extensions.get('2.5.29.17');
  if (ext === undefined) return [];
  const names = children(ext, tlv(ext, 0));
  const out: string[] = [];
  for (const n of names) {
    if (n.tag !== SAN_TAGS[type]) continue;
    if (type === 'ip') out.push(ipText(ext.subarray(n.start, n.end)));
    else if (type === 'other_name') {
      // otherName: type-id OID, then [0] EXPLICIT value; RabbitMQ keeps a string value's text.
      const [, explicit] = children(ext, n);
      const inner = explicit === undefined ? undefined : children(ext, explicit)[0];
      const s = inner === undefined ? null : stringBytes(ext, inner);
      if (s !== null) out.push(s.toString('utf8'));
    } else out.push(ext.toString('utf8', n.start, n.end));
  }
  return out;
}

function ipText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

export interface CertLoginConfig {
  sslCertLoginFrom: string;
  sslCertLoginSanType: string;
  sslCertLoginSanIndex: number;
}

/** The login name for a certificate (DER), or null when the certificate has no such name. */
export function certificateLoginName(der: Buffer, c: CertLoginConfig): string | null {
  switch (c.sslCertLoginFrom) {
    case 'common_name': {
      const cns = commonNames(der);
      return cns === null ? null : cns.join(',');
    }
    case 'subject_alternative_name':
    case 'subject_alt_name': {
      const names = subjectAltNames(der, c.sslCertLoginSanType as keyof typeof SAN_TAGS);
      return names[c.sslCertLoginSanIndex] ?? null;
    }
    default:
      return subjectDn(der);
  }
}
