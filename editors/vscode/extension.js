// The VS Code side of `night lsp`: start the language server over stdio for
// .night files. Highlighting needs none of this (it is the TextMate grammar in
// syntaxes/); this file only adds diagnostics and whatever else `night lsp` offers.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** Builds a client from the current settings (`night.path`). */
function createClient() {
  const config = vscode.workspace.getConfiguration('night');
  const command = config.get('path') || 'night';
  const executable = { command, args: ['lsp'], transport: TransportKind.stdio };
  return new LanguageClient(
    'night',
    'night language server',
    { run: executable, debug: executable },
    {
      documentSelector: [{ language: 'night' }],
      synchronize: {
        // Prompt files and the runbooks themselves feed the checks.
        fileEvents: vscode.workspace.createFileSystemWatcher('**/*.night'),
      },
    },
  );
}

async function startClient() {
  if (!vscode.workspace.getConfiguration('night').get('lsp.enable', true)) {
    return;
  }
  client = createClient();
  try {
    await client.start();
  } catch (err) {
    // A missing `night` binary must not break highlighting: say so once and go on.
    const path = vscode.workspace.getConfiguration('night').get('path') || 'night';
    vscode.window.showWarningMessage(
      `night: could not start \`${path} lsp\` (${err && err.message ? err.message : err}). ` +
        'Install night or set `night.path`; highlighting works without it.',
    );
    client = undefined;
  }
}

async function stopClient() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('night.restartServer', async () => {
      await stopClient();
      await startClient();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('night.path') || event.affectsConfiguration('night.lsp.enable')) {
        await stopClient();
        await startClient();
      }
    }),
  );
  await startClient();
}

async function deactivate() {
  await stopClient();
}

module.exports = { activate, deactivate };
