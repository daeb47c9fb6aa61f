// Answers a registry's 401 challenge: Basic with the configured USER:PASSWORD, or Bearer through the token
// service the challenge names (the Docker registry token flow: GET realm?service=…&scope=…, with the basic
// credentials when there are any, anonymous otherwise). Tokens are kept per scope until they expire. A static
// bearer token (bearerTokenFile) is sent as it is. The realm must be an allowed host like every other URL.
import { AirlockError } from '../errors.js';
import { firstSchemaProblem } from '../util/schemas.js';
import type { Challenge } from './challenge.js';
import { basicHeader, type Credentials } from './credentials.js';
import { discard, readCapped, type Transport } from './transport.js';

const MAX_TOKEN_ANSWER = 64 * 1024;
/** Tokens without expires_in live 60 s (the token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;

interface Token {
  value: string;
  expiresAt: number;
}

export class Authenticator {
  private readonly tokens = new Map<string, Token>();
  private basicAsked = false;

  constructor(
    private readonly credentials: Credentials,
    private readonly transport: Transport,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The Authorization header for a request needing `scope`, when there is one to send. */
  header(scope: string): string | undefined {
    if (this.credentials.bearer !== undefined) return `Bearer ${this.credentials.bearer}`;
    const token = this.tokens.get(scope);
    if (token && token.expiresAt > this.clock()) return `Bearer ${token.value}`;
    if (this.basicAsked && this.credentials.basic) return basicHeader(this.credentials.basic);
    return undefined;
  }

  /** Get what the challenge asks for; false when there is nothing more to try (the request is then refused). */
  async respond(challenge: Challenge | undefined, scope: string): Promise<boolean> {
    if (!challenge) return false;
    if (challenge.scheme === 'basic') {
      // Each request answers its own challenge once (concurrent requests may all meet one); a second 401 is final.
      if (!this.credentials.basic) return false;
      this.basicAsked = true;
      return true;
    }
    // A static token was sent already and refused; the token service would want other credentials.
    if (this.credentials.bearer !== undefined) return false;
    this.tokens.delete(scope);
    const token = await this.fetchToken(challenge, scope);
    this.tokens.set(scope, token);
    return true;
  }

  private async fetchToken(challenge: Challenge, scope: string): Promise<Token> {
    const realm = challenge.params['realm'];
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new AirlockError('REGISTRY_AUTH', `the registry's Bearer challenge names no usable realm (${JSON.stringify(realm ?? '')})`);
    }
    if (challenge.params['service'] !== undefined) url.searchParams.set('service', challenge.params['service']);
    const wanted = challenge.params['scope'] ?? scope;
    if (wanted) url.searchParams.set('scope', wanted);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.credentials.basic) headers['Authorization'] = basicHeader(this.credentials.basic);
    const res = await this.transport.request('GET', url, { headers });
    if (res.status !== 200) {
      discard(res);
      throw new AirlockError(
        'REGISTRY_AUTH',
        `the token service at ${url.origin}${url.pathname} refused ${this.credentials.basic ? 'the credentials from auth.basicFile' : 'an anonymous request'} (HTTP ${res.status})`,
        { path: url.origin },
      );
    }
    const bytes = await readCapped(res, MAX_TOKEN_ANSWER, `the token service's answer`);
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new AirlockError('REGISTRY_AUTH', `the token service at ${url.origin} answered something that is not JSON`);
    }
    const problem = firstSchemaProblem('registry-token', doc);
    if (problem) throw new AirlockError('REGISTRY_AUTH', `the token service's answer: ${problem.field} ${problem.message}`);
    const d = doc as { token?: string; access_token?: string; expires_in?: number };
    const value = d.token ?? d.access_token ?? '';
    if (!/^[\x21-\x7e]+$/.test(value)) throw new AirlockError('REGISTRY_AUTH', `the token service's token is not a header-safe string`);
    const seconds = Math.max(10, d.expires_in ?? DEFAULT_TOKEN_SECONDS);
    // Renewed a little early, so a long upload does not start on a token about to lapse.
    return { value, expiresAt: this.clock() + (seconds - 5) * 1000 };
  }
}
