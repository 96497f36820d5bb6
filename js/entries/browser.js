// The `browser` condition, and `import` / `default` when no server condition
// matched: payseal holds secrets (webhook secrets, API secrets, keys), so a
// bundle for a browser gets this module, which refuses at import instead of
// shipping a signer and its secret to every visitor.
throw new Error(
  "payseal holds secrets and runs only on servers: Node, Deno, Bun, Cloudflare Workers, Vercel/Next.js edge. " +
    "It was resolved for a browser (the `browser` export condition, or no server condition matched): import it from server code only " +
    "(a route handler, an API route, a Worker), never from a client component or a page script.",
);
