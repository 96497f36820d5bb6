// node --test harness of the renewal cases (renewal-cases.js): one test per
// case, through the installed package, with util.inspect as a surface.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import * as payseal from "payseal";
import { renewalCases } from "./renewal-cases.js";

for (const { id, run } of renewalCases(payseal, { inspect })) {
  test(id, async () => {
    const why = await run();
    if (why !== null) assert.fail(why);
  });
}
