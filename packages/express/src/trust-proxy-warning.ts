// sesame's trustProxy option means nothing to this adapter: the client address and protocol come from
// Express (`req.ip`, `req.protocol`), which follow the app's `trust proxy` setting. Said once per process.

let warned = false

export function warnTrustProxyIgnored(): void {
  if (warned) return
  warned = true
  process.emitWarning(
    "@sesame/express ignores sesame's `trustProxy` option: the client address and protocol come from Express's req.ip and req.protocol. Behind a proxy, set Express's own setting instead, e.g. app.set('trust proxy', 1) for one proxy in front (https://expressjs.com/en/guide/behind-proxies.html).",
    { code: 'SESAME_TRUST_PROXY_IGNORED' },
  )
}
