// A real OpenID Connect provider for the tests: panva's certified oidc-provider, with one
// confidential client (Warden's approvals page) and a few people, each with a password.
// Authorization code + PKCE (required), signed ID tokens (RS256, keys generated at start),
// discovery and JWKS as any issuer publishes them. Only the sign-in page is ours: a plain form.
//
//   node tests/oidc/provider.mjs <port> <redirect-uri> [<client-secret>]
// Prints `ready <issuer>` once it listens.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, redirectUri, clientSecret = 'warden-test-secret'] = process.argv.slice(2);
if (!port || !redirectUri) {
  console.error('usage: node provider.mjs <port> <redirect-uri> [<client-secret>]');
  process.exit(2);
}

// The people of the test organisation; the password of each is `<name>-password`.
const PEOPLE = ['alice@example.com', 'bob@example.com', 'mallory@example.com'];
const password = (login) => `${login.split('@')[0]}-password`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'warden-approvals',
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // As the big providers do: the email claims in the ID token itself.
  conformIdTokenClaims: false,
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
  findAccount: async (_ctx, id) =>
    PEOPLE.includes(id) ? { accountId: id, claims: async () => ({ sub: id, email: id, email_verified: true }) } : undefined,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false } },
  // Warden's page is first party: no consent screen, as an organisation's own app would have.
  loadExistingGrant: async (ctx) => {
    const accountId = ctx.oidc.session?.accountId;
    if (!accountId) return undefined;
    const grant = new provider.Grant({ clientId: ctx.oidc.client.clientId, accountId });
    grant.addOIDCScope('openid email');
    await grant.save();
    return grant;
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const loginPage = (uid, error = '') => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · Example Org</title></head>
<body><main><h1>Sign in to Example Org</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label>Email <input name="login" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></main></body></html>`;

async function formBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(ctx.path);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== match[1]) ctx.throw(400, 'interaction mismatch');
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = loginPage(details.uid);
    return;
  }
  if (ctx.method !== 'POST') ctx.throw(405);
  const form = await formBody(ctx.req);
  const login = form.get('login') ?? '';
  if (!PEOPLE.includes(login) || form.get('password') !== password(login)) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = loginPage(details.uid, 'Wrong email or password.');
    return;
  }
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
});

provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
