/**
 * Scenario files (`fake-vdsm serve --scenario FILE`): a fixture, fault rules
 * and a seed in one JSON file, so a CI run is reproduced by the file alone
 * (the same seed fires the same faults).
 *
 * ```json
 * {"seed": 42, "fixture": {...docs/fixture.md...}, "faults": [{"match": {"method": "Image.move"}, "action": {"error": 851}}]}
 * ```
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseFaultRule } from '../faults/rule-reach.js';
import type { FaultRule } from '../faults/rule.js';
import type { FixtureInput } from '../model/fixture.js';

/** A parsed scenario. */
export interface Scenario {
  readonly fixture?: FixtureInput;
  readonly faults: readonly FaultRule[];
  readonly seed?: number;
}

const ScenarioSchema = z.strictObject({
  // The fixture is validated by the startup (FixtureError names every problem).
  fixture: z.record(z.string(), z.unknown()).optional(),
  faults: z.array(z.unknown()).optional(),
  seed: z.number().int().nonnegative().optional(),
});

/** A scenario file that cannot be used; the message names the file and the problem. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/**
 * Validates a scenario object (every fault rule included, so a bad rule
 * stops the fake before it starts).
 *
 * @throws ScenarioError naming `source` and the problem.
 */
export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const parsed = ScenarioSchema.safeParse(input);
  if (!parsed.success) {
    throw new ScenarioError(`${source}: ${parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
  }
  const faults = (parsed.data.faults ?? []).map((rule, index) => {
    try {
      return parseFaultRule(rule);
    } catch (error) {
      throw new ScenarioError(`${source}: faults[${index}]: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return {
    ...(parsed.data.fixture === undefined ? {} : { fixture: parsed.data.fixture as FixtureInput }),
    faults,
    ...(parsed.data.seed === undefined ? {} : { seed: parsed.data.seed }),
  };
}

/** Reads and validates a scenario file. @throws ScenarioError; the read error as is. */
export async function readScenarioFile(path: string): Promise<Scenario> {
  const text = await readFile(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return parseScenario(value, path);
}
