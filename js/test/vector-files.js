// Reads every *.json of the vector directory at test time ($PAYSEAL_VECTORS,
// else ../../tests/vectors next to the repository's js/test/).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

export function vectorDir() {
  const dir = process.env.PAYSEAL_VECTORS;
  if (!dir) throw new Error("PAYSEAL_VECTORS must name the tests/vectors directory");
  return dir;
}

export function readVectorFiles(dir = vectorDir()) {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
}
