export { ARTIFACT_IGNORE_FILE, DEFAULT_ARTIFACT_IGNORE } from "./ignore-rules.js";
export { ArtifactManager } from "./manager.js";
export {
  ARTIFACT_DEFAULTS,
  type ArtifactManagerOptions,
  type ArtifactOffer,
  type ArtifactSettings,
  validateArtifactSettings,
} from "./options.js";
