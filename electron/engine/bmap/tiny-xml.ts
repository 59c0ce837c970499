// A deliberately small XML reader for bmaptool's files: elements, attributes, text, comments and
// the XML declaration. No DTDs, CDATA or namespaces — a .bmap has none, and anything we do not
// understand is an error rather than something silently skipped.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text directly inside this element (entities decoded). */
  text: string;
}

export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const NAME = /^[A-Za-z_][\w.-]*/;

function decode(raw: string, at: number): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new XmlSyntaxError(`unterminated entity "${whole}"`, at);
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    const value = ENTITIES[ref];
    if (value === undefined) throw new XmlSyntaxError(`unknown entity "&${ref};"`, at);
    return value;
  });
}

function parseAttributes(source: string, at: number): Record<string, string> {
  const attributes: Record<string, string> = {};
  let rest = source.trim();
  while (rest.length > 0) {
    const m = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(rest);
    if (!m) throw new XmlSyntaxError(`malformed attribute near "${rest.slice(0, 30)}"`, at);
    const name = m[1]!;
    if (name in attributes) throw new XmlSyntaxError(`attribute "${name}" given twice`, at);
    attributes[name] = decode(m[3] ?? m[4] ?? '', at);
    rest = rest.slice(m[0].length).trimStart();
  }
  return attributes;
}

/** Parses a whole document and returns its root element; throws XmlSyntaxError on anything malformed. */
export function parseXml(document: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < document.length) {
    const lt = document.indexOf('<', i);
    const textEnd = lt === -1 ? document.length : lt;
    const text = document.slice(i, textEnd);
    if (text.length > 0) {
      const top = stack[stack.length - 1];
      if (top) top.text += decode(text, i);
      else if (text.trim().length > 0) throw new XmlSyntaxError('text outside the root element', i);
    }
    if (lt === -1) break;
    if (document.startsWith('<!--', lt)) {
      const end = document.indexOf('-->', lt + 4);
      if (end === -1) throw new XmlSyntaxError('unterminated comment', lt);
      i = end + 3;
    } else if (document.startsWith('<?', lt)) {
      const end = document.indexOf('?>', lt + 2);
      if (end === -1) throw new XmlSyntaxError('unterminated processing instruction', lt);
      i = end + 2;
    } else if (document.startsWith('<!', lt)) {
      throw new XmlSyntaxError('DOCTYPE and CDATA are not allowed in a .bmap', lt);
    } else {
      const gt = document.indexOf('>', lt + 1);
      if (gt === -1) throw new XmlSyntaxError('unterminated tag', lt);
      let body = document.slice(lt + 1, gt);
      if (body.startsWith('/')) {
        const name = body.slice(1).trim();
        const open = stack.pop();
        if (!open || open.name !== name) throw new XmlSyntaxError(`closing </${name}> does not match <${open?.name ?? 'nothing'}>`, lt);
      } else {
        const selfClosing = body.endsWith('/');
        if (selfClosing) body = body.slice(0, -1);
        const nameMatch = NAME.exec(body);
        if (!nameMatch) throw new XmlSyntaxError(`malformed tag "<${body.slice(0, 30)}>"`, lt);
        const element: XmlElement = {
          name: nameMatch[0],
          attributes: parseAttributes(body.slice(nameMatch[0].length), lt),
          children: [],
          text: '',
        };
        const parent = stack[stack.length - 1];
        if (parent) parent.children.push(element);
        else if (root) throw new XmlSyntaxError('more than one root element', lt);
        else root = element;
        if (!selfClosing) stack.push(element);
      }
      i = gt + 1;
    }
  }
  if (stack.length > 0) throw new XmlSyntaxError(`<${stack[stack.length - 1]!.name}> is never closed`, document.length);
  if (!root) throw new XmlSyntaxError('no root element', 0);
  return root;
}
