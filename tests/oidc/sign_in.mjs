// A person signing in at the provider, over plain HTTP with cookies (what a browser does,
// without one): follow the authorization URL to the sign-in form, post the email and password,
// follow the provider's redirects, and print where the provider sends the browser back (the
// redirect URI with `code` and `state`). Exits 1 with the page if the sign-in fails.
//
//   node tests/oidc/sign_in.mjs <authorization-url> <email> <password>
const [start, login, password] = process.argv.slice(2);
if (!start || !login || !password) {
  console.error('usage: node sign_in.mjs <authorization-url> <email> <password>');
  process.exit(2);
}
const origin = new URL(start).origin;
const jar = new Map();

async function go(url, init = {}) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie } });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return response;
}

let url = start;
for (let hop = 0; hop < 20; hop++) {
  const response = await go(url);
  const location = response.headers.get('location');
  if (location) {
    const next = new URL(location, url);
    if (next.origin !== origin) {
      console.log(next.href);
      process.exit(0);
    }
    url = next.href;
    continue;
  }
  const page = await response.text();
  const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
  if (!action) {
    console.error(`no sign-in form at ${url} (${response.status}): ${page.slice(0, 500)}`);
    process.exit(1);
  }
  const posted = await go(new URL(action, url).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login, password }).toString(),
  });
  const after = posted.headers.get('location');
  if (!after) {
    console.error(`sign-in refused (${posted.status}): ${(await posted.text()).slice(0, 500)}`);
    process.exit(1);
  }
  url = new URL(after, url).href;
}
console.error('too many redirects');
process.exit(1);
