// airlock help [COMMAND]: every command by section, or one command's options.
import { defineCommand, type CliIO, type CommandSpec, type ParsedArgs } from '../command.js';
import { helpText, overviewText } from '../help-text.js';
import { COMMAND_NAMES, commandListing, findCommand } from '../registry.js';

export const spec = defineCommand({
  name: 'help',
  summary: 'list the commands, or show the options of one',
  description: ['The same text as airlock COMMAND --help. The reference pages in docs/reference/ and the man pages airlock-COMMAND(1) say the same.'],
  positionals: [{ name: 'COMMAND', optional: true, choices: COMMAND_NAMES, description: 'the command to explain' }],
  options: [],
});

export async function run(args: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const name = args.positionals.COMMAND;
  const entry = name === undefined ? undefined : findCommand(name);
  io.stdout.write(entry ? helpText((await entry.load()).spec as CommandSpec) : overviewText(await commandListing()));
  return 0;
}
