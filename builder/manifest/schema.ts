/**
 * The manifest's JSON Schema (draft 2020-12). `manifestSchema` is what a resolved manifest (after `extends`) must
 * satisfy; `layerSchema` (the same without `required`) is what each single file must satisfy, so a child manifest
 * may set only what it changes. Descriptions double as the reference documentation (`openkey explain --schema`).
 */
type Schema = Record<string, unknown>;

const idPattern = '^[a-z0-9][a-z0-9._-]*$';
const nonEmpty = { type: 'string', minLength: 1 };
/**
 * One kernel argument, written unquoted on GRUB's `linux` line: none of GRUB's special characters (`$ ; { } | & < >`,
 * quotes, backslash, `#`, wildcards), so that an argument can never become a second GRUB command.
 */
const kernelArg = { type: 'string', pattern: '^[A-Za-z0-9_.,:=/+@%~^!-]+$', maxLength: 256 };
/**
 * One token of a one-line apt source: URL characters without spaces, quotes, `#` (a comment to apt) or shell
 * metacharacters, so it cannot add options, a comment or a second source.
 */
const aptUri = '^(https?|file)://[A-Za-z0-9._~:/?@&+,=%\\[\\]-]+$';

const vmHardware: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['cpus', 'memoryMiB', 'diskGiB', 'firmware'],
  properties: {
    cpus: { type: 'integer', minimum: 1, maximum: 64 },
    memoryMiB: { type: 'integer', minimum: 512, maximum: 262144 },
    diskGiB: { type: 'integer', minimum: 4, maximum: 2048 },
    firmware: { enum: ['bios', 'efi'] },
  },
};

const output = (withVm: boolean): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: withVm ? ['enabled', 'vm'] : ['enabled'],
  properties: withVm ? { enabled: { type: 'boolean' }, vm: vmHardware } : { enabled: { type: 'boolean' } },
});

const titledPath: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'title', 'path'],
  properties: {
    id: { type: 'string', pattern: idPattern },
    title: nonEmpty,
    path: { ...nonEmpty, description: 'file or folder, relative to the manifest that declares it' },
  },
};

export const manifestSchema: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://openkey.invalid/manifest.schema.json',
  title: 'Open Key manifest',
  type: 'object',
  additionalProperties: false,
  required: [
    'name',
    'version',
    'variant',
    'description',
    'label',
    'base',
    'packages',
    'system',
    'session',
    'boot',
    'overlays',
    'services',
    'datasets',
    'docs',
    'apps',
    'notebooks',
    'outputs',
    'media',
    'compression',
  ],
  properties: {
    extends: {
      description: 'parent manifests, merged in order before this file',
      anyOf: [nonEmpty, { type: 'array', items: nonEmpty, minItems: 1 }],
    },
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
    version: { type: 'string', pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$' },
    variant: { enum: ['mu', 'S', 'M', 'L'] },
    description: { type: 'string' },
    label: { type: 'string', pattern: '^[A-Z0-9_]{1,32}$', description: 'ISO volume label' },
    sourceDateEpoch: {
      type: 'integer',
      minimum: 0,
      maximum: 4294967295,
      description: 'SOURCE_DATE_EPOCH for the whole build (squashfs stores 32-bit times)',
    },
    base: {
      type: 'object',
      additionalProperties: false,
      required: ['suite', 'mirror', 'security', 'architecture'],
      properties: {
        suite: { type: 'string', pattern: '^[a-z]+$' },
        mirror: { type: 'string', pattern: aptUri, maxLength: 512 },
        security: { type: 'string', pattern: aptUri, maxLength: 512 },
        snapshot: { type: 'string', pattern: '^[0-9]{8}T[0-9]{6}Z$', description: 'snapshot.debian.org timestamp' },
        architecture: { enum: ['amd64'] },
      },
    },
    packages: {
      type: 'object',
      description: 'named groups of Debian package names',
      propertyNames: { pattern: '^[a-z][a-z0-9-]*$' },
      additionalProperties: { type: 'array', items: { type: 'string', maxLength: 128 } },
    },
    system: {
      type: 'object',
      additionalProperties: false,
      required: ['hostname', 'locale', 'keyboard', 'timezone', 'users'],
      properties: {
        hostname: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' },
        locale: { type: 'string', pattern: '^[a-z]{2,3}(_[A-Z]{2})?(\\.UTF-8)?$' },
        keyboard: { type: 'string', pattern: '^[a-z]{2,3}(\\([a-z0-9_-]+\\))?$' },
        timezone: { type: 'string', pattern: '^(UTC|[A-Z][A-Za-z_-]+(/[A-Za-z0-9_+-]+){1,2})$' },
        users: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'autologin', 'groups', 'shell'],
            properties: {
              name: { type: 'string', pattern: '^[a-z_][a-z0-9_-]{0,31}$' },
              autologin: { type: 'boolean' },
              groups: { type: 'array', items: { type: 'string', pattern: '^[a-z_][a-z0-9_-]{0,31}$' } },
              shell: { type: 'string', pattern: '^/[A-Za-z0-9._/+-]+$' },
            },
          },
        },
      },
    },
    session: { enum: ['none', 'kiosk', 'desktop'] },
    boot: {
      type: 'object',
      additionalProperties: false,
      required: ['cmdline', 'timeout', 'menu'],
      properties: {
        cmdline: { type: 'array', items: kernelArg },
        timeout: { type: 'integer', minimum: 0, maximum: 300 },
        menu: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'label', 'cmdline'],
            properties: {
              id: { type: 'string', pattern: idPattern },
              label: { ...nonEmpty, maxLength: 120 },
              cmdline: { type: 'array', items: kernelArg },
            },
          },
        },
      },
    },
    overlays: { type: 'array', items: nonEmpty, description: 'folders copied over the rootfs, in order' },
    services: {
      type: 'object',
      additionalProperties: false,
      required: ['analysis', 'jupyter'],
      properties: {
        analysis: {
          type: 'object',
          additionalProperties: false,
          required: ['enabled', 'port', 'lan', 'workers'],
          properties: {
            enabled: { type: 'boolean' },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            lan: { type: 'boolean', description: 'true: other devices on the LAN may reach the service' },
            workers: { type: 'integer', minimum: 0, maximum: 64, description: '0: one worker per core' },
            cacheMiB: {
              type: 'integer',
              minimum: 0,
              maximum: 262144,
              description:
                'column cache budget in MiB; 0 off; absent: a quarter of the memory of the machine it runs on',
            },
          },
        },
        jupyter: {
          type: 'object',
          additionalProperties: false,
          required: ['enabled', 'port', 'lan', 'mode'],
          properties: {
            enabled: { type: 'boolean' },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            lan: { type: 'boolean' },
            mode: {
              enum: ['single', 'hub'],
              description: "single: one notebook server for the key's user; hub: JupyterHub, an account per student",
            },
          },
        },
      },
    },
    datasets: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'title', 'description', 'licence', 'source'],
        properties: {
          id: { type: 'string', pattern: idPattern },
          title: nonEmpty,
          description: { type: 'string' },
          licence: nonEmpty,
          tree: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
          source: { enum: ['local', 'url', 'synthetic', 'opendata'] },
          path: nonEmpty,
          url: { type: 'string', pattern: '^https?://[!-~]+$', maxLength: 2048 },
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          size: { type: 'integer', minimum: 1 },
          opendata: {
            type: 'object',
            additionalProperties: false,
            required: ['record'],
            description: 'real data from the CERN Open Data portal: a record id and, optionally, some of its files',
            properties: {
              record: { type: 'integer', minimum: 1 },
              files: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[^/]+$' } },
            },
          },
          synthetic: {
            type: 'object',
            additionalProperties: false,
            required: ['schema', 'process', 'events', 'seed'],
            properties: {
              schema: { enum: ['atlas13-mini'] },
              process: { enum: ['zll', 'wlnu', 'ttbar', 'hyy', 'zz4l', 'mystery', 'data-mix'] },
              events: { type: 'integer', minimum: 1, maximum: 100000000 },
              seed: { type: 'integer', minimum: 0 },
            },
          },
        },
      },
    },
    docs: { type: 'array', items: titledPath },
    apps: { type: 'array', items: { enum: ['portal', 'analyser', 'browser'] }, uniqueItems: true },
    notebooks: { type: 'array', items: titledPath },
    outputs: {
      type: 'object',
      additionalProperties: false,
      required: ['iso', 'usb', 'qcow2', 'ova'],
      properties: {
        iso: output(false),
        usb: {
          type: 'object',
          additionalProperties: false,
          required: ['enabled'],
          properties: {
            enabled: { type: 'boolean' },
            filesystem: {
              enum: ['exfat', 'fat32'],
              description: 'the content partition: exFAT (default) or FAT32 (files under 4 GiB)',
            },
            persistence: {
              enum: ['/home union', '/ union'],
              description: "live-boot's persistence.conf line: the student's home (default) or the whole system",
            },
          },
        },
        qcow2: output(true),
        ova: output(true),
      },
    },
    media: {
      type: 'object',
      additionalProperties: false,
      required: ['size', 'headroomPercent'],
      properties: {
        size: { enum: ['8GB', '16GB', '32GB', '64GB'], description: 'the USB key the image must fit' },
        headroomPercent: { type: 'number', minimum: 0, maximum: 50 },
      },
    },
    compression: {
      type: 'object',
      additionalProperties: false,
      required: ['squashfs', 'level'],
      properties: {
        squashfs: { enum: ['zstd', 'xz', 'gzip', 'lz4', 'lzo'] },
        level: { type: 'integer', minimum: 1, maximum: 22 },
      },
    },
  },
};

function withoutRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutRequired);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'required' || key === 'minItems') continue;
    copy[key] = key === 'enum' || key === 'pattern' ? value : withoutRequired(value);
  }
  return copy;
}

export const layerSchema = {
  ...(withoutRequired(manifestSchema) as Schema),
  $id: 'https://openkey.invalid/manifest-layer.schema.json',
};
