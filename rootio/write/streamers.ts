import type { Streamable, WBuffer } from './buffer.ts';
import { LEAF_KINDS, VECTOR_ELEMENT_TYPES } from '../types.ts';
import { ROOT_CLASSES, type ClassDef, type ElementDef } from './streamer-table.ts';

/** fBits ROOT 6.20 leaves on the objects of a StreamerInfo record (kNotDeleted | kIsOnHeap, plus kIsCompiled). */
const BITS_OBJECT = 0x03000000;
const BITS_INFO = 0x03010000;
const BITS_LIST = 0x02000000;

/** The std::vector element types the writer supports, with sizeof(std::vector<T>) (bool's is a bit vector). */
export const VECTOR_VALUE_TYPES = {
  float: { sizeofVector: 24 },
  int: { sizeofVector: 24 },
  'unsigned int': { sizeofVector: 24 },
  bool: { sizeofVector: 40 },
  double: { sizeofVector: 24 },
} as const;
export type VectorValueType = keyof typeof VECTOR_VALUE_TYPES;

/** Class version ROOT records for an STL collection class. */
export const STL_CLASS_VERSION = 6;

function fold(id: number, text: string): number {
  for (let i = 0; i < text.length; i++) id = (Math.imul(id, 3) + text.charCodeAt(i)) >>> 0;
  return id;
}

/** TVirtualStreamerInfo::GetElementCounterStart: a range only counts when the comment opens with '['. */
function counterInTitle(title: string): string | undefined {
  for (let i = 0; i < title.length; i++) {
    const ch = title[i]!;
    if (ch === '[') {
      const end = title.indexOf(']', i);
      return end < 0 ? undefined : title.slice(i + 1, end);
    }
    if (ch !== '*' && ch !== ' ' && ch !== '\t') return undefined;
  }
  return undefined;
}

/**
 * TClass::GetCheckSum (kLatestCheckSum) over an element list: the class name, each base's name and checksum,
 * then each member's name, type, array extents and the counter named in its comment, folded as id = id*3 + c.
 */
export function classChecksum(def: ClassDef, checksumOf: (className: string) => number): number {
  let id = fold(0, def.name);
  for (const element of def.elements) {
    if (element.kind !== 'base') continue;
    id = fold(id, element.name);
    id = (Math.imul(id, 3) + checksumOf(element.name)) >>> 0;
  }
  for (const element of def.elements) {
    if (element.kind === 'base') continue;
    id = fold(id, element.name);
    id = fold(id, element.typeName);
    const counter = counterInTitle(element.title);
    if (counter !== undefined) id = fold(id, counter);
  }
  return id;
}

/** A collection class has no members of its own in the checksum: only its name counts. */
function vectorClass(valueType: VectorValueType): ClassDef {
  const name = `vector<${valueType}>`;
  const { sizeofVector } = VECTOR_VALUE_TYPES[valueType];
  // fCtype: ROOT's EDataType code of the element type.
  const ctype = LEAF_KINDS[VECTOR_ELEMENT_TYPES[valueType]!].dataType;
  return {
    name,
    version: STL_CLASS_VERSION,
    checksum: fold(0, name),
    elements: [
      {
        kind: 'stl',
        name: 'This',
        title: `<${valueType}> Used to call the proper TStreamerInfo case`,
        type: 500,
        size: sizeofVector,
        typeName: name,
        stlType: 1,
        ctype,
      },
    ],
  };
}

const registry = new Map<string, ClassDef>();
for (const def of ROOT_CLASSES) registry.set(def.name, def);
for (const valueType of Object.keys(VECTOR_VALUE_TYPES) as VectorValueType[]) {
  const def = vectorClass(valueType);
  registry.set(def.name, def);
}

/** The checksum of a class in the table, computing (and caching) it when the table leaves it out. */
export function checksumOf(className: string): number {
  const def = registry.get(className);
  if (def === undefined) throw new Error(`no streamer description for class ${className}`);
  if (def.checksum === undefined) def.checksum = classChecksum(def, checksumOf);
  return def.checksum;
}

export function classDef(className: string): ClassDef {
  const def = registry.get(className);
  if (def === undefined) throw new Error(`no streamer description for class ${className}`);
  return def;
}

const ELEMENT_CLASS: Record<ElementDef['kind'], { className: string; version: number }> = {
  base: { className: 'TStreamerBase', version: 3 },
  basic: { className: 'TStreamerBasicType', version: 2 },
  string: { className: 'TStreamerString', version: 2 },
  object: { className: 'TStreamerObject', version: 2 },
  any: { className: 'TStreamerObjectAny', version: 2 },
  pointer: { className: 'TStreamerObjectPointer', version: 2 },
  counted: { className: 'TStreamerBasicPointer', version: 2 },
  stl: { className: 'TStreamerSTL', version: 3 },
};

class StreamerElement implements Streamable {
  readonly className: string;
  constructor(private readonly element: ElementDef) {
    this.className = ELEMENT_CLASS[element.kind].className;
  }
  stream(buffer: WBuffer): void {
    const e = this.element;
    const outer = buffer.startObject(ELEMENT_CLASS[e.kind].version);
    const inner = buffer.startObject(4);
    buffer.tnamed(e.name, e.title, BITS_OBJECT);
    buffer.i32(e.type);
    buffer.i32(e.size);
    buffer.i32(0); // fArrayLength
    buffer.i32(0); // fArrayDim
    // fMaxIndex[5]; a base element keeps its class checksum in fMaxIndex[1] (TStreamerBase::fBaseCheckSum).
    buffer.i32(0);
    buffer.u32(e.kind === 'base' ? checksumOf(e.name) : 0);
    buffer.i32(0);
    buffer.i32(0);
    buffer.i32(0);
    buffer.tstring(e.typeName);
    buffer.setByteCount(inner);
    if (e.kind === 'base') buffer.i32(e.baseVersion ?? 0);
    if (e.kind === 'counted') {
      buffer.i32(e.countVersion ?? 0);
      buffer.tstring(e.countName ?? '');
      buffer.tstring(e.countClass ?? '');
    }
    if (e.kind === 'stl') {
      buffer.i32(e.stlType ?? 0);
      buffer.i32(e.ctype ?? 0);
    }
    buffer.setByteCount(outer);
  }
}

class ObjArray implements Streamable {
  readonly className = 'TObjArray';
  constructor(
    private readonly items: Streamable[],
    private readonly bits: number,
  ) {}
  stream(buffer: WBuffer): void {
    const at = buffer.startObject(3);
    buffer.tobject(this.bits);
    buffer.tstring('');
    buffer.i32(this.items.length);
    buffer.i32(0); // fLowerBound
    for (const item of this.items) buffer.writeObjectAny(item);
    buffer.setByteCount(at);
  }
}

class StreamerInfo implements Streamable {
  readonly className = 'TStreamerInfo';
  constructor(private readonly def: ClassDef) {}
  stream(buffer: WBuffer): void {
    const at = buffer.startObject(9);
    buffer.tnamed(this.def.name, '', BITS_INFO);
    buffer.u32(checksumOf(this.def.name));
    buffer.i32(this.def.version);
    buffer.writeObjectAny(
      new ObjArray(
        this.def.elements.map((element) => new StreamerElement(element)),
        BITS_LIST,
      ),
    );
    buffer.setByteCount(at);
  }
}

class ObjString implements Streamable {
  readonly className = 'TObjString';
  constructor(private readonly text: string) {}
  stream(buffer: WBuffer): void {
    const at = buffer.startObject(1);
    buffer.tobject(BITS_OBJECT);
    buffer.tstring(this.text);
    buffer.setByteCount(at);
  }
}

/** TList::Streamer (version 5): every entry is followed by its option string, here always empty. */
export class TList implements Streamable {
  readonly className = 'TList';
  constructor(
    private readonly items: Streamable[],
    private readonly name = '',
    private readonly bits = BITS_LIST,
  ) {}
  stream(buffer: WBuffer): void {
    const at = buffer.startObject(5);
    buffer.tobject(this.bits);
    buffer.tstring(this.name);
    buffer.i32(this.items.length);
    for (const item of this.items) {
      buffer.writeObjectAny(item);
      buffer.u8(0);
    }
    buffer.setByteCount(at);
  }
}

/** The two TTree I/O rules ROOT appends as `listOfRules`; they only concern TTree versions ≤ 18. */
const TTREE_RULES = [
  'type=read sourceClass="TTree" targetClass="TTree" version="[-16]" source="" target="fDefaultEntryOffsetLen" code="{ fDefaultEntryOffsetLen = 1000; }" ',
  'type=read sourceClass="TTree" targetClass="TTree" version="[-18]" source="" target="fNClusterRange" code="{ fNClusterRange = 0; }" ',
];
const BITS_RULES = 0x02004000; // kIsOwner

/**
 * The StreamerInfo record's TList for a tree file: ROOT's fixed set for a flat tree, the leaf classes in use,
 * TBranchElement/TLeafElement and the vector classes when the tree has std::vector branches.
 */
export function treeStreamerInfos(leafClasses: readonly string[], vectorTypes: readonly VectorValueType[]): TList {
  const names = ['TTree', 'TNamed', 'TObject', 'TAttLine', 'TAttFill', 'TAttMarker', 'ROOT::TIOFeatures', 'TBranch'];
  const uniqueLeaves = [...new Set(leafClasses)];
  let leafBaseAdded = false;
  for (const leaf of uniqueLeaves) {
    if (leaf === 'TLeafElement') continue;
    names.push(leaf);
    if (!leafBaseAdded) {
      names.push('TLeaf');
      leafBaseAdded = true;
    }
  }
  if (vectorTypes.length > 0) {
    names.push('TBranchElement', 'TLeafElement');
    if (!leafBaseAdded) names.push('TLeaf');
  }
  names.push('TList', 'TSeqCollection', 'TCollection', 'TString', 'TBranchRef', 'TRefTable', 'TObjArray');
  for (const valueType of [...new Set(vectorTypes)]) names.push(`vector<${valueType}>`);
  const infos: Streamable[] = names.map((name) => new StreamerInfo(classDef(name)));
  infos.push(
    new TList(
      TTREE_RULES.map((rule) => new ObjString(rule)),
      'listOfRules',
      BITS_RULES,
    ),
  );
  return new TList(infos);
}
