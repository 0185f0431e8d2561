// The package's face. Every module is re-exported whole (`export *`), and
// package.json says `"sideEffects": false`: a bundler then leaves out the
// modules whose exports a program does not use, so code that needs only the
// plain values (error codes, the handshake's names, the conversation-id rule)
// does not load zod and the schemas. A named re-export (`export { x } from`)
// would make a bundler keep its module whatever is used. So a module here
// exports nothing that is not part of the face (words.ts and fast-parse.ts,
// used inside the package only, are not re-exported).
export * from "./conversation-id.js";
export * from "./errors.js";
export * from "./free-text.js";
export * from "./handshake.js";
export * from "./parse.js";
export * from "./resume.js";
export * from "./schemas.js";
export * from "./usage.js";
