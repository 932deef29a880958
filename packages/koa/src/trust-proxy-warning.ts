// sesame's trustProxy option means nothing to this adapter: the client address and protocol come from
// Koa (`ctx.ip`, `ctx.protocol`), which follow `app.proxy` and `app.maxIpsCount`. Said once per process.

let warned = false

export function warnTrustProxyIgnored(): void {
  if (warned) return
  warned = true
  process.emitWarning(
    "@sesame/koa ignores sesame's `trustProxy` option: the client address and protocol come from Koa's ctx.ip and ctx.protocol. Behind a proxy, set Koa's own settings instead: app.proxy = true and app.maxIpsCount = 1 for one proxy in front that appends to X-Forwarded-For.",
    { code: 'SESAME_TRUST_PROXY_IGNORED' },
  )
}
