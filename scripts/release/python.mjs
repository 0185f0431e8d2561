// Builds the Python client's wheel and sdist with pypa/build, in a virtualenv
// of its own (python/.venv-release, gitignored) holding the pinned build
// frontend and backend, so the build itself fetches nothing.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function buildPython(root, outdir, python = process.env.PYTHON ?? "python3") {
  const pyDir = join(root, "python");
  const venv = join(pyDir, ".venv-release");
  const requirements = join(pyDir, "requirements-release.txt");
  const stamp = `${execFileSync(python, ["--version"], { encoding: "utf8" }).trim()} ${createHash("sha256")
    .update(readFileSync(requirements))
    .digest("hex")}`;
  const stampFile = join(venv, ".stamp");
  if (!existsSync(stampFile) || readFileSync(stampFile, "utf8") !== stamp) {
    rmSync(venv, { recursive: true, force: true });
    execFileSync(python, ["-m", "venv", venv], { stdio: "inherit" });
    execFileSync(join(venv, "bin/python"), ["-m", "pip", "install", "--quiet", "--requirement", requirements], {
      stdio: "inherit",
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" },
    });
    writeFileSync(stampFile, stamp);
  }
  try {
    execFileSync(
      join(venv, "bin/python"),
      ["-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", outdir, pyDir],
      {
        stdio: "pipe",
      },
    );
  } catch (error) {
    throw new Error(`building the Python client failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  }
}
