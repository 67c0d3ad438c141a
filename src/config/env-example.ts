import { DEFAULTS, SETTING_KEYS } from './environment';
import { SETTING_GROUPS, type SettingGroup, settingDoc } from './setting';

const HEADER =
  'Payment Center settings, generated from src/config/environment.ts by `npm run config:docs` (edit them ' +
  'there). Copy to .env to override; real environment variables win over .env. Every value below is the ' +
  'default the app uses when the variable is not set. A missing or malformed value stops the app at boot ' +
  'with a message naming the key. No default is a secret: see docs/security/failclosed.md for what ' +
  'NODE_ENV=production requires and refuses.';

/** Comment lines are wrapped to this many characters, `# ` included. */
const WIDTH = 116;

/**
 * `.env.example` as the Environment schema describes it: each group under its heading, each key under its
 * documentation, with the default (or the value the schema says to show instead). Reads no environment, so it
 * prints no configured value; the schema's defaults are not secrets (a unit test holds that).
 */
export function renderEnvExample(): string {
  const lines = comment(HEADER);
  const seen = new Set<SettingGroup>();
  let group: SettingGroup | undefined;
  for (const key of SETTING_KEYS) {
    const doc = settingDoc(key);
    if (doc.group !== group) {
      if (seen.has(doc.group)) throw new Error(`${key}: the settings of group ${doc.group} must be together`);
      seen.add(doc.group);
      group = doc.group;
      lines.push('', ...comment(SETTING_GROUPS[group]));
    }
    lines.push(...comment(doc.doc), `${key}=${quoted(doc.example ?? String(DEFAULTS[key]))}`);
  }
  return `${lines.join('\n')}\n`;
}

function comment(text: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && `# ${line} ${word}`.length > WIDTH) {
      lines.push(`# ${line}`);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(`# ${line}`);
  return lines;
}

/** Values with spaces, quotes or JSON go in single quotes, which a .env file reads literally. */
function quoted(value: string): string {
  if (/^[\w.:/@,+-]*$/.test(value)) return value;
  if (value.includes("'")) throw new Error(`cannot write ${value} in single quotes`);
  return `'${value}'`;
}
