import type { ReactNode } from 'react'

export const metadata = { title: 'sesame · Next.js example' }

// No web fonts, no remote assets: system fonts and a few inline rules.
const css = `body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}
form{display:inline}.flash{background:#eef;padding:.5rem}.line{margin:1em 0}`

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <style>{css}</style>
      </head>
      <body>{children}</body>
    </html>
  )
}
