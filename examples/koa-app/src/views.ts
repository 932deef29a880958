// Tiny HTML views: no template engine, no remote assets. Everything user-supplied is escaped.
import type { UserSessionInfo } from '@sesame/core'

export const escape = (value: unknown) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · sesame</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}
form{display:inline}.flash{background:#eef;padding:.5rem}.line{margin:1em 0}</style></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`

// A <form> never inside a <p>: the browser would close the <p> before it (not valid HTML).
export function home(options: { user?: string; count: number; flash?: string }): string {
  const flash = options.flash ? `<p class="flash">${escape(options.flash)}</p>` : ''
  if (!options.user) {
    return page('sesame demo', `${flash}
<form method="post" action="/login">
  <label>User <input name="username" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button>Log in</button>
</form>
<p>Try alice / wonderland or bob / builder.</p>
<div class="line">Counter (works without logging in): ${options.count} <form method="post" action="/count"><button>+1</button></form></div>`)
  }
  return page(`Hello, ${options.user}`, `${flash}
<div class="line">Counter: ${options.count} <form method="post" action="/count"><button>+1</button></form></div>
<p><a href="/sessions">Your active sessions</a></p>
<form method="post" action="/logout"><button>Log out</button></form>`)
}

export function sessions(user: string, list: UserSessionInfo[]): string {
  const rows = list
    .map(
      (entry) => `<tr><td>${entry.current ? '<b>this browser</b>' : escape(entry.userAgent ?? 'unknown')}</td>
<td>${escape(entry.ip ?? '')}</td><td>${new Date(entry.lastActiveAt).toISOString()}</td>
<td>${entry.current ? '' : `<form method="post" action="/sessions/revoke"><input type="hidden" name="ref" value="${escape(entry.ref)}"><button>Revoke</button></form>`}</td></tr>`,
    )
    .join('\n')
  return page(`${user}'s active sessions`, `<table><tbody><tr><th>Device</th><th>Address</th><th>Last active</th><th></th></tr>
${rows}</tbody></table>
<form method="post" action="/sessions/revoke-others"><button>Log out everywhere else</button></form>
<p><a href="/">Back</a></p>`)
}
