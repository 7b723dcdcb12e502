/**
 * Node's built-in modules, as the functions use them: the CommonJS module objects from
 * `process.getBuiltinModule`, never `import … from 'node:…'`. An ES module import of a built-in
 * builds its module facade, which reads every export, lazy getters included: for `node:http`
 * that loads undici (for its `WebSocket` and `MessageEvent` exports) and for `node:fs` its
 * promises API — measured 52 → 8 ms (http) and 7 → 0 ms (fs) of module load on the bench
 * machine, paid at every cold start for code the gateway never runs. biome.json keeps the rule
 * for `functions/`; type-only imports are free and stay ordinary imports.
 */
export const http = process.getBuiltinModule('node:http');
export const https = process.getBuiltinModule('node:https');
export const crypto = process.getBuiltinModule('node:crypto');
export const fs = process.getBuiltinModule('node:fs');
export const fsPromises = process.getBuiltinModule('node:fs/promises');
export const path = process.getBuiltinModule('node:path');
export const stream = process.getBuiltinModule('node:stream');
export const timersPromises = process.getBuiltinModule('node:timers/promises');
export const url = process.getBuiltinModule('node:url');
