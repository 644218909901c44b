import type { Command } from 'commander';
import type { FamilyLocation } from '../benchmarks/locator.js';
import { reportFailure } from './output.js';

export function registerBenchmarks(program: Command, setExit: (code: number) => void): void {
  program
    .command('benchmarks')
    .description('list the LMMs-Eval video benchmarks vdedup knows and which are on disk under $HF_HOME')
    .option('--json', 'print JSON: every family with the folders searched, videos, YouTube IDs and problems')
    .option('--all', 'also list families with nothing on disk')
    .action(async (o: { json?: boolean; all?: boolean }) => {
      try {
        const [{ locateFamily, locatorEnv }, { benchmarkFamilies }] = await Promise.all([import('../benchmarks/locator.js'), import('../benchmarks/registry.js')]);
        const le = locatorEnv();
        const families = benchmarkFamilies();
        const located: Array<{ family: (typeof families)[number]; loc: FamilyLocation }> = [];
        for (const family of families) located.push({ family, loc: await locateFamily(family, le) });
        if (o.json === true) {
          const doc = {
            hfHome: le.hfHome,
            hubCache: le.hubCache,
            families: located.map(({ family, loc }) => ({
              name: family.name,
              category: family.category,
              tasks: family.tasks,
              datasetIds: family.datasetIds,
              youtubeIdField: family.youtubeIdField ?? null,
              roots: loc.roots,
              videosFound: loc.videos.length,
              videosExpected: loc.expectedVideos ?? null,
              youtubeIds: new Set([...loc.videos.map((v) => v.youtubeId), ...loc.idsWithoutVideo.map((i) => i.youtubeId)].filter(Boolean)).size,
              metadataFiles: loc.metadataFiles,
              unextractedArchives: loc.unextractedArchives,
              problems: loc.problems,
            })),
          };
          process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
          setExit(0);
          return;
        }
        const present = located.filter(({ loc }) => loc.videos.length > 0 || loc.metadataFiles.length > 0 || loc.unextractedArchives.length > 0);
        const lines = [`HF_HOME=${le.hfHome}: ${present.length} of ${families.length} LMMs-Eval video benchmark families have files on disk`];
        for (const { family, loc } of o.all === true ? located : present) {
          const found = `${loc.videos.length}${loc.expectedVideos === undefined ? '' : `/${loc.expectedVideos}`} videos`;
          const ids = new Set([...loc.videos.map((v) => v.youtubeId), ...loc.idsWithoutVideo.map((i) => i.youtubeId)].filter(Boolean)).size;
          lines.push(`  ${family.name.padEnd(26)} ${found.padEnd(16)} ${family.youtubeIdField === undefined ? 'not YouTube' : `${ids} YouTube IDs`}`);
          lines.push(`  ${''.padEnd(26)} looked in ${loc.roots.map((r) => `${r.path}${r.exists ? '' : ' (missing)'}`).join(', ') || '(no folder known)'}`);
          for (const p of loc.problems) lines.push(`  ${''.padEnd(26)} ${p}`);
        }
        if (o.all !== true) lines.push('(vdedup benchmarks --all lists every family, --json gives details)');
        process.stdout.write(`${lines.join('\n')}\n`);
        setExit(0);
      } catch (err) {
        setExit(reportFailure(err));
      }
    });
}
