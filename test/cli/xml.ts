/**
 * A strict little XML well-formedness check, enough for the SVG the CLI
 * writes: one root, balanced tags, quoted unique attributes, only the five
 * predefined entities, no stray `<` or `&`. Returns the elements met, for
 * assertions on content.
 */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Text directly inside the element, entities decoded. */
  text: string;
  readonly children: XmlElement[];
}

const NAME = /^[A-Za-z_][\w.:-]*$/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string, where: string): string {
  return text.replace(/&([^;&<]*);?/g, (match, name: string) => {
    if (!match.endsWith(';') || !(name in ENTITIES)) throw new Error(`bad entity ${JSON.stringify(match)} in ${where}`);
    return ENTITIES[name]!;
  });
}

/** Parses `source` or throws with the first problem. */
export function parseXml(source: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const body = source.replace(/^<\?xml[^>]*\?>\s*/, '');
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const text = lt === -1 ? body.slice(i) : body.slice(i, lt);
    if (text.trim() !== '') {
      const top = stack.at(-1);
      if (top === undefined) throw new Error(`text outside the root element: ${JSON.stringify(text.slice(0, 40))}`);
      top.text += decode(text, `<${top.name}>`);
    }
    if (lt === -1) break;
    const gt = body.indexOf('>', lt);
    if (gt === -1) throw new Error('unterminated tag');
    const tag = body.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('!--')) {
      if (!tag.endsWith('--')) throw new Error('bad comment');
      continue;
    }
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open === undefined || open.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const inner = selfClosing ? tag.slice(0, -1) : tag;
    const nameMatch = /^([^\s/>]+)/.exec(inner);
    if (nameMatch === null || !NAME.test(nameMatch[1]!)) throw new Error(`bad tag <${tag.slice(0, 40)}>`);
    const name = nameMatch[1]!;
    const attributes: Record<string, string> = {};
    let rest = inner.slice(name.length);
    const attr = /^\s+([A-Za-z_][\w.:-]*)="([^"<]*)"/;
    for (;;) {
      const m = attr.exec(rest);
      if (m === null) break;
      if (m[1]! in attributes) throw new Error(`attribute ${m[1]} repeated on <${name}>`);
      attributes[m[1]!] = decode(m[2]!, `<${name} ${m[1]}>`);
      rest = rest.slice(m[0].length);
    }
    if (rest.trim() !== '') throw new Error(`bad attributes on <${name}>: ${JSON.stringify(rest.slice(0, 40))}`);
    const element: XmlElement = { name, attributes, text: '', children: [] };
    const parent = stack.at(-1);
    if (parent === undefined) {
      if (root !== undefined) throw new Error('more than one root element');
      root = element;
    } else parent.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)!.name}> is never closed`);
  if (root === undefined) throw new Error('no root element');
  return root;
}

/** Every element of the tree, depth first. */
export function allElements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap(allElements)];
}
