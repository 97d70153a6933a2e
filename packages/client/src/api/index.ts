/**
 * `@vdsm-kit/client/api`: the typed VDSM API. Verb table and types, enums and
 * constants, VDSM's error table and error classes, Python-repr helpers for
 * VDSM's message formats, the typed namespaces and the engine-style helpers.
 */
export * from './constants.js';
export * from './enums.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './python-repr.js';
export * from './types.js';
export * from './schema-methods.js';
export * from './verbs/index.js';
export {
  boolParam,
  boolStringParam,
  parsedBoolParam,
  imageOperationParam,
  intParam,
  intStringParam,
  sizeStringParam,
  uuidParam,
  volumeAllocationParam,
  volumeFormatParam,
  volumeRoleParam,
} from './verbs/common.js';
export * from './invalid-params.js';
export * from './namespaces.js';
export * from './helpers.js';
export * from './job-events.js';
