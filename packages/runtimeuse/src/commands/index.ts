export { detachedProcessGroups, killDetachedProcessGroups } from "./process-group.js";
export { type ProcessEntry, procProcesses, treeOf } from "./processes.js";
export { commandEnv, runCommand } from "./runner.js";
export { noFreeDescriptors, spawnedWithoutPipes, spawnRefused } from "./spawn-failure.js";
export { TailBuffer } from "./tail-buffer.js";
export {
  type BackgroundJobsPolicy,
  type CommandOutcome,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_CAPTURED_BYTES,
  type OutputStream,
  type RunCommandOptions,
} from "./types.js";
