// WWW-Authenticate challenges (RFC 7235) as registries send them, parsed without trusting them (pure):
// `Basic realm="…"` or `Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"`.

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** A challenge header is a line of text; anything longer is not one. */
const MAX_CHALLENGE = 4096;

/** The first Basic or Bearer challenge in the header, or undefined. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const text = (Array.isArray(header) ? header.join(', ') : (header ?? '')).slice(0, MAX_CHALLENGE);
  const m = /^\s*(basic|bearer)\b\s*(.*)$/i.exec(text);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase() as Challenge['scheme'];
  const params: Record<string, string> = {};
  const re = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2] ?? '';
  re.lastIndex = 0;
  for (let p = re.exec(rest); p; p = re.exec(rest)) {
    const key = p[1]!.toLowerCase();
    if (!(key in params)) params[key] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
    if (re.lastIndex >= rest.length) break;
  }
  return { scheme, params };
}

/** The scope a request needs, in the token service's grammar. */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}
