// node --test reporter: prints exactly one `payseal-summary: <suite> N passed,
// M failed` line ($PAYSEAL_SUITE) for the whole run. Suites and file-level
// wrappers are not counted; skipped or todo tests count as failures (nothing
// may be skipped).
import process from "node:process";

export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const details = event.data.details ?? {};
    if (details.type === "suite") continue;
    if (event.data.file !== undefined && event.data.name === event.data.file) continue;
    if (event.type === "test:pass" && !event.data.skip && !event.data.todo) passed += 1;
    else failed += 1;
  }
  yield `payseal-summary: ${process.env.PAYSEAL_SUITE ?? "js-node"} ${passed} passed, ${failed} failed\n`;
}
