// A new runtime is one adapter file, one line in src/runtime/engines.ts and one branch of the runtime config
// schema (issue 12). This holds the two lists to each other, so neither can drift: every engine the code can
// open has its branch (kind, if/then, $defs), and the schema admits no kind the code cannot open.
import t from 'tap';
import { resolveRuntimeConfig } from '../src/runtime/config.js';
import { ENGINE_KINDS, isEngineKind } from '../src/runtime/engines.js';
import { loadSchema } from '../src/util/schemas.js';

interface Branch {
  if: { properties: { kind: { const: string } } };
  then: { $ref: string };
}

t.test('every engine has its schema branch, and every schema kind but none is an engine', async (t) => {
  const schema = loadSchema('runtime-config') as {
    properties: { kind: { enum: string[] } };
    allOf: Branch[];
    $defs: Record<string, { properties: { kind: { const: string } }; $ref?: string; unevaluatedProperties?: boolean }>;
  };
  const kinds = schema.properties.kind.enum;
  t.same([...kinds].sort(), ['none', ...ENGINE_KINDS].sort(), 'the kind enum is none plus the engines of engines.ts');
  for (const kind of kinds) {
    const branch = schema.allOf.find((b) => b.if.properties.kind.const === kind);
    t.ok(branch, `${kind} has an if/then branch`);
    const def = branch?.then.$ref.replace('#/$defs/', '') ?? '';
    t.equal(schema.$defs[def]?.properties.kind.const, kind, `${kind}'s branch is $defs/${def}, which takes only that kind`);
  }
  for (const kind of ENGINE_KINDS) {
    t.match(schema.$defs[kind], { $ref: '#/$defs/deploySettings', unevaluatedProperties: false }, `${kind} takes the shared deploy settings`);
  }
  t.notOk(isEngineKind('none'), 'none opens no engine');
});

t.test('a config of each engine kind resolves to that kind with the deploy defaults', async (t) => {
  for (const kind of ENGINE_KINDS) {
    const rc = resolveRuntimeConfig({ kind, publishPort: 9000 });
    t.match(rc, { kind, publishPort: 9000, gpus: 'all', restartPolicy: 'unless-stopped' });
  }
  t.throws(() => resolveRuntimeConfig({ kind: 'podman' }), { code: 'CONFIG_INVALID' }, 'an engine airlock has no adapter for is refused');
});
