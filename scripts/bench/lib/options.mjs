// Command-line options every bench script accepts, so `npm run bench -- --quick`
// reaches each of them unchanged.
import { join } from "node:path";
import { parseArgs } from "node:util";

/**
 * `--quick`: a shorter run with fewer samples (same targets).
 * `--cpu-prof <dir>`: run the servers under test with `node --cpu-prof`,
 * profiles written under `dir`; figures are slower then.
 * Unknown flags are an error naming the flag.
 */
export function parseBenchArgs(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  return { quick: values.quick, cpuProfDir: values["cpu-prof"], help: values.help };
}

/** The `node` flags that write a CPU profile of a server child into `dir/name/` when it exits. */
export function cpuProfFlags(dir, name) {
  return dir ? ["--cpu-prof", "--cpu-prof-dir", join(dir, name)] : [];
}
