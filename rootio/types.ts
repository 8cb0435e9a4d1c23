/**
 * The type tables: ROOT's leaf classes, type names and letters, the element types the reader decodes, and the
 * C++ names of std::vector elements. The reader (branch descriptions) and the writer (leaves, streamer infos)
 * both derive their tables from these.
 */

/** Element types the column decoder knows; all are decoded to float64. */
export type ElementType = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64' | 'bool';

export const ELEMENT_SIZE: Record<ElementType, number> = {
  i8: 1,
  u8: 1,
  bool: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  f32: 4,
  i64: 8,
  u64: 8,
  f64: 8,
};

export type RootTypeName =
  | 'Char_t'
  | 'UChar_t'
  | 'Short_t'
  | 'UShort_t'
  | 'Int_t'
  | 'UInt_t'
  | 'Long64_t'
  | 'ULong64_t'
  | 'Float_t'
  | 'Double_t'
  | 'Bool_t';

export interface LeafKind {
  rootType: RootTypeName;
  /** The TLeaf subclass (signed and unsigned share one, told apart by fIsUnsigned). */
  leafClass: string;
  /** The type letter of a leaf list (`x/F`). */
  letter: string;
  element: ElementType;
  size: number;
  unsigned: boolean;
  /** ROOT's EDataType code (TStreamerElement fType, TStreamerSTL fCtype). */
  dataType: number;
}

function kind(
  rootType: RootTypeName,
  leafClass: string,
  letter: string,
  element: ElementType,
  dataType: number,
): LeafKind {
  return { rootType, leafClass, letter, element, size: ELEMENT_SIZE[element], unsigned: /^U/.test(rootType), dataType };
}

export const LEAF_KINDS: Record<RootTypeName, LeafKind> = {
  Char_t: kind('Char_t', 'TLeafB', 'B', 'i8', 1),
  UChar_t: kind('UChar_t', 'TLeafB', 'b', 'u8', 11),
  Short_t: kind('Short_t', 'TLeafS', 'S', 'i16', 2),
  UShort_t: kind('UShort_t', 'TLeafS', 's', 'u16', 12),
  Int_t: kind('Int_t', 'TLeafI', 'I', 'i32', 3),
  UInt_t: kind('UInt_t', 'TLeafI', 'i', 'u32', 13),
  Long64_t: kind('Long64_t', 'TLeafL', 'L', 'i64', 16),
  ULong64_t: kind('ULong64_t', 'TLeafL', 'l', 'u64', 17),
  Float_t: kind('Float_t', 'TLeafF', 'F', 'f32', 5),
  Double_t: kind('Double_t', 'TLeafD', 'D', 'f64', 8),
  Bool_t: kind('Bool_t', 'TLeafO', 'O', 'bool', 18),
};

/** The leaf kind of a TLeaf subclass and its fIsUnsigned flag (ignored where the class has no unsigned form). */
export function leafKindOf(leafClass: string, unsigned: boolean): LeafKind | undefined {
  const kinds = Object.values(LEAF_KINDS).filter((k) => k.leafClass === leafClass);
  return kinds.find((k) => k.unsigned === unsigned) ?? kinds[0];
}

/** The C++ spellings of a std::vector's element type, and the ROOT type each one is. */
export const VECTOR_ELEMENT_TYPES: Record<string, RootTypeName> = {
  char: 'Char_t',
  'unsigned char': 'UChar_t',
  bool: 'Bool_t',
  short: 'Short_t',
  'unsigned short': 'UShort_t',
  int: 'Int_t',
  'unsigned int': 'UInt_t',
  long: 'Long64_t',
  'long long': 'Long64_t',
  Long64_t: 'Long64_t',
  'unsigned long': 'ULong64_t',
  'unsigned long long': 'ULong64_t',
  ULong64_t: 'ULong64_t',
  float: 'Float_t',
  double: 'Double_t',
  Float_t: 'Float_t',
  Double_t: 'Double_t',
  Int_t: 'Int_t',
  UInt_t: 'UInt_t',
  Short_t: 'Short_t',
  UShort_t: 'UShort_t',
  Char_t: 'Char_t',
  UChar_t: 'UChar_t',
  Bool_t: 'Bool_t',
};

/** A std::vector entry on disk: byte count (4), version (2), then the element count (4) and the elements. */
export const VECTOR_ENTRY_HEADER = 10;
