import { mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { copyTreeNormalised, ensureRealDir, listFiles, writeInsideTree } from '../cache/fsutil.ts';
import { treeBytes } from '../cache/index.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import type { StageDefinition } from './types.ts';

/** The portal's URL as seen from the key itself. */
export function localPortalUrl(manifest: ResolvedManifest): string {
  return `http://127.0.0.1:${manifest.services.analysis.port}/`;
}

/** Files generated from the manifest, on top of the overlay folders. */
export function generatedFiles(manifest: ResolvedManifest): Record<string, string> {
  const { hostname, locale, keyboard, timezone, users } = manifest.system;
  const { port, lan, workers, cacheMiB } = manifest.services.analysis;
  const serviceArgs = [
    ...(workers > 0 ? [`--workers ${workers}`] : []),
    ...(cacheMiB === undefined ? [] : [`--cache-mib ${cacheMiB}`]),
  ].join(' ');
  const portal = lan ? `http://\\4:${port}/  (or http://${hostname}.local:${port}/)` : `http://127.0.0.1:${port}/`;
  const files: Record<string, string> = {
    'etc/hostname': `${hostname}\n`,
    'etc/hosts': `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n`,
    'etc/default/locale': `LANG=${locale}\n`,
    'etc/default/keyboard': `XKBMODEL="pc105"\nXKBLAYOUT="${keyboard}"\nXKBVARIANT=""\nXKBOPTIONS=""\nBACKSPACE="guess"\n`,
    'etc/timezone': `${timezone}\n`,
    // OPENKEY_ARGS reaches the unit's command line (unbraced, so systemd splits it into words, and an empty one
    // adds none): --workers N, or nothing for one worker per core (workers: 0), which the service decides itself;
    // --cache-mib M when the manifest sets a column cache budget.
    'etc/openkey/analysis.env': `OPENKEY_HOST=${lan ? '0.0.0.0' : '127.0.0.1'}\nOPENKEY_PORT=${port}\nOPENKEY_WORKERS=${workers}\nOPENKEY_ARGS=${serviceArgs}\n`,
    'etc/openkey/kiosk.env': `OPENKEY_URL=${localPortalUrl(manifest)}\n`,
    'etc/issue': [
      `${manifest.name} ${manifest.version} (${manifest.variant}) \\n \\l`,
      '',
      `  Open Key portal: ${portal}`,
      '  The datasets, docs and apps are also on the key itself: open START-HERE.html on any computer.',
      '',
      '',
    ].join('\n'),
  };
  const autologin = users.find((user) => user.autologin);
  if (autologin !== undefined && manifest.session === 'desktop') {
    // The desktop's display manager (LightDM with task-xfce-desktop) logs the student in.
    files['etc/lightdm/lightdm.conf.d/50-openkey-autologin.conf'] = [
      '[Seat:*]',
      `autologin-user=${autologin.name}`,
      'autologin-user-timeout=0',
      '',
    ].join('\n');
  }
  if (autologin !== undefined) files['etc/openkey/session-user'] = `${autologin.name}\n`;
  const sessionUser = autologin ?? users[0];
  if (manifest.session === 'kiosk' && sessionUser !== undefined)
    // The kiosk runs as the manifest's session user, not a name fixed in the unit.
    files['etc/systemd/system/openkey-kiosk.service.d/user.conf'] = `[Service]\nUser=${sessionUser.name}\n`;
  const jupyter = manifest.services.jupyter;
  if (jupyter.enabled) {
    // image/overlay/jupyter's unit reads these; the notebooks reach the analysis service on the key itself.
    files['etc/openkey/jupyter.env'] = [
      `OPENKEY_JUPYTER_IP=${jupyter.lan ? '0.0.0.0' : '127.0.0.1'}`,
      `OPENKEY_JUPYTER_PORT=${jupyter.port}`,
      // The portal (on the analysis port) links into Jupyter; on the LAN the portal's host is not known here.
      `OPENKEY_JUPYTER_ORIGIN=${jupyter.lan ? '*' : new URL(localPortalUrl(manifest)).origin}`,
      `OPENKEY_URL=${localPortalUrl(manifest)}`,
      `OPENKEY_JUPYTER_MODE=${jupyter.mode}`,
      '',
    ].join('\n');
    // The hub runs as root and makes an account per student; the single-user server runs as the key's user.
    if (sessionUser !== undefined && jupyter.mode === 'single')
      files['etc/systemd/system/openkey-jupyter.service.d/user.conf'] = `[Service]\nUser=${sessionUser.name}\n`;
  }
  return files;
}

/**
 * The configuration layer: the manifest's overlay folders copied in order (image/overlay/common, then the variant's),
 * then files generated from the manifest. Small and quick, so changing a setting never rebuilds the OS layer.
 */
export const overlayStage: StageDefinition = {
  name: 'overlay',
  async run(context) {
    const { manifest } = context;
    const tree = path.join(context.outDir, 'tree');
    await mkdir(tree, { recursive: true });
    for (const overlay of manifest.overlays) {
      context.log(`copying ${path.relative(context.projectRoot, overlay) || overlay}`);
      await copyTreeNormalised(overlay, tree);
    }
    // The build runs as root: its own files are written without following any link an overlay put on the way.
    for (const [file, text] of Object.entries(generatedFiles(manifest))) await writeInsideTree(tree, file, text);
    await ensureRealDir(path.join(tree, 'etc'));
    await rm(path.join(tree, 'etc/localtime'), { force: true, recursive: true });
    await symlink(`/usr/share/zoneinfo/${manifest.system.timezone}`, path.join(tree, 'etc/localtime'));
    if (!manifest.services.analysis.enabled) {
      for (const dir of ['etc/systemd', 'etc/systemd/system', 'etc/systemd/system/multi-user.target.wants'])
        await ensureRealDir(path.join(tree, dir));
      await rm(path.join(tree, 'etc/systemd/system/multi-user.target.wants/openkey-analysis.service'), { force: true });
    }
    // image/overlay/jupyter enables both of its units; only the manifest's mode starts at boot.
    const jupyter = manifest.services.jupyter;
    const wants = path.join(tree, 'etc/systemd/system/multi-user.target.wants');
    if (!jupyter.enabled || jupyter.mode !== 'single')
      await rm(path.join(wants, 'openkey-jupyter.service'), { force: true });
    if (!jupyter.enabled || jupyter.mode !== 'hub')
      await rm(path.join(wants, 'openkey-jupyterhub.service'), { force: true });
    const files = await listFiles(tree);
    return { outputs: { tree: await treeBytes(tree) }, details: { files } };
  },
};
