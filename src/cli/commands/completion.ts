// airlock completion bash|zsh: print the shell completion script, generated from the command definitions.
import { defineCommand, type CliIO, type ParsedArgs } from '../command.js';
import { bashCompletion, zshCompletion } from '../completion.js';
import { allSpecs } from '../registry.js';
import { packageVersion } from '../version.js';

export const spec = defineCommand({
  name: 'completion',
  summary: 'print the bash or zsh completion script',
  description: [
    'Completes command names, every option of each command, the values of options with a fixed set (--kind, --format, --gpus), and file or folder names where a command takes one. The script never runs airlock while completing.',
    'bash: source <(airlock completion bash) in ~/.bashrc, or save it as ~/.local/share/bash-completion/completions/airlock (the .deb installs it as /usr/share/bash-completion/completions/airlock). zsh: save it as _airlock in a folder of $fpath.',
  ],
  positionals: [{ name: 'SHELL', choices: ['bash', 'zsh'], description: 'the shell to complete for' }],
  options: [],
  examples: [{ description: 'Completion in the current bash session.', command: 'source <(airlock completion bash)' }],
});

export async function run(args: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const specs = await allSpecs();
  const version = await packageVersion();
  io.stdout.write(args.positionals.SHELL === 'zsh' ? zshCompletion(specs, version) : bashCompletion(specs, version));
  return 0;
}
