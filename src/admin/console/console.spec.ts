import { join } from 'node:path';
import ts from 'typescript';

/**
 * The console's script is plain JavaScript served as written, so nothing compiles it: this check is what holds
 * it to its JSDoc types, the server's view types among them (console.types.ts). A renamed field in an admin
 * API answer fails here instead of in an operator's browser.
 */
describe('admin console script', () => {
  // Loads the server's module graph into a TypeScript program: seconds, more on a busy machine.
  it('type-checks against the DOM and the admin API view types', () => {
    const configPath = join(process.cwd(), 'src', 'admin', 'console', 'tsconfig.json');
    const config = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
          throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
        },
      },
    );
    expect(config?.fileNames.map((file) => file.slice(process.cwd().length))).toEqual([
      '/src/admin/console/console.js',
    ]);
    const program = ts.createProgram({ rootNames: config!.fileNames, options: config!.options });
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (!diagnostic.file || diagnostic.start === undefined) return text;
      const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      return `${diagnostic.file.fileName}:${line + 1}:${character + 1} ${text}`;
    });
    expect(problems).toEqual([]);
  }, 180_000);
});
