#!/usr/bin/env python3
"""Builds the evaluation set (called by bench/eval/build.sh; see there for the layout).

Everything random comes from one seeded generator (SEED), so a rebuild gives the same set:
excerpt offsets, lengths, speeds, filler, box positions and the tuning/held-out split.
Sources are the real clips fetched by fixtures/fetch-real.sh (Debian packages) and ffmpeg's audio
visualizers rendering real game music from Debian packages. Nothing here is committed footage.
"""
import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

SEED = 20261128
FPS = 25
PER_HALF = int(os.environ.get('VDEDUP_EVAL_PER_HALF', '5'))  # copies per family and half of the originals
JOBS = 2  # the machine has 2 cores shared with others: never more than 2 ffmpeg at a time
HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.environ.get('VDEDUP_REAL_DIR', os.path.expanduser('~/.cache/vdedup/real'))
CLIPS = os.path.join(REAL, 'clips')
MUSIC = os.path.join(REAL, 'music')
OUT = os.environ.get('VDEDUP_EVAL_DIR', os.path.expanduser('~/.cache/vdedup/eval'))
SRC = os.path.join(OUT, 'tmp', 'src')  # normalised sources: 640x360, 25 fps, H.264
FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf'
NORM = 'scale=640:360:force_original_aspect_ratio=disable,setsar=1,fps=25'
ENC = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-an']


def x264(crf, preset='ultrafast'):
    # ultrafast: the set has to build in minutes on 2 shared cores; CRF still sets the damage
    return ['-c:v', 'libx264', '-preset', preset, '-crf', str(crf), '-pix_fmt', 'yuv420p', '-an']


# --- sources ------------------------------------------------------------------------------------
# Real clips (fixtures/fetch-real.sh names) normalised to SRC/<name>.mp4.
CLIP_FILES = {os.path.splitext(f)[0]: f for f in sorted(os.listdir(CLIPS))} if os.path.isdir(CLIPS) else {}

# Music visualizer footage rendered from real music: name -> (music file, start s, seconds, style)
VIZ = {
    'viz-cqt-journey': ('sing-journey.ogg', 61.0, 40, 'cqt'),
    'viz-scope-aberrations': ('sing-aberrations.ogg', 40.0, 35, 'scope'),
    'viz-spectrum-awakening': ('sing-awakening.ogg', 30.0, 16, 'spectrum'),
    # same styles, different music: hard negatives
    'viz-cqt-coherence': ('sing-coherence.ogg', 50.0, 30, 'cqt'),
    'viz-cqt-rybky': ('fillets-rybky01.ogg', 20.0, 30, 'cqt'),
    'viz-scope-deprecation': ('sing-deprecation.ogg', 45.0, 30, 'scope'),
    'viz-spectrum-byproduct': ('sing-byproduct.ogg', 35.0, 30, 'spectrum'),
    'viz-waves-nebula': ('sing-nebula.ogg', 40.0, 25, 'waves'),
    'viz-waves-menu': ('fillets-menu.ogg', 2.0, 25, 'scope'),
}
VIZ_FILTER = {
    'cqt': 'showcqt=s=640x360:r=25:axis=0:count=2',
    'scope': 'asplit[a][b];[a]avectorscope=s=320x360:r=25:zoom=1.5:draw=line[v1];'
             '[b]showwaves=s=320x360:r=25:mode=cline:colors=0x40c0ff[v2];[v1][v2]hstack',
    'spectrum': 'showspectrum=s=640x360:slide=scroll:color=rainbow:scale=log,fps=25',
    'waves': 'showwaves=s=640x360:r=25:mode=p2p:split_channels=1:colors=orange|yellow',
}

# Benchmark originals: name -> (fast motion?, what it shows, [(source, start s, seconds or None)])
ORIGINALS = {
    'game-blupi-a': (True, 'Planet Blupi game cut-scenes (play101/103/105/107)',
                     [('blupi-play101', 0, None), ('blupi-play103', 0, None), ('blupi-play105', 0, None), ('blupi-play107', 0, None)]),
    'game-blupi-b': (True, 'Planet Blupi story and victory cut-scenes (history2, win005)',
                     [('blupi-history2', 0, None), ('blupi-win005', 0, None)]),
    'game-glines': (True, 'Five or More game play screencast', [('glines-demo', 0, None)]),
    'viz-lebiniou-a': (True, 'Le Biniou visualizer recording', [('lebiniou-122828', 0, None)]),
    'viz-lebiniou-b': (True, 'Le Biniou visualizer recordings (3 clips)',
                       [('lebiniou-121747', 0, None), ('lebiniou-121919', 0, None), ('lebiniou-121953', 0, None)]),
    'viz-cqt-journey': (True, 'ffmpeg showcqt of "A New Journey" (singularity-music)', [('viz-cqt-journey', 0, None)]),
    'viz-scope-aberrations': (True, 'ffmpeg avectorscope+showwaves of "Aberrations" (singularity-music)', [('viz-scope-aberrations', 0, None)]),
    'viz-spectrum-awakening': (True, 'ffmpeg showspectrum of "Awakening" (singularity-music), short', [('viz-spectrum-awakening', 0, None)]),
    'anim-fillets-intro': (True, 'Fish Fillets intro, 3D animation with cuts', [('fillets-intro', 0, 45)]),
    'anim-wanna-work': (True, '"Wanna work together?" flat animation', [('wanna-work-together', 20, 50)]),
    'anim-megamind': (True, 'Megamind film excerpt (animation), short', [('megamind', 0, None)]),
    'film-calais-1906': (True, '1906 car race, panning film camera, short', [('calais-1906', 0, None)]),
    'handheld-tree': (True, 'tree in the wind, handheld camera', [('tree', 0, None)]),
    'handheld-diver': (True, 'underwater handheld camera, short', [('diver', 0, None)]),
    'street': (False, 'static street camera, pedestrians', [('street-pedestrians', 0, 40)]),
    'cockatoo': (False, 'a cockatoo on a perch, short', [('cockatoo', 0, None)]),
    'ball-throw': (False, 'physics class, a ball thrown, short', [('ball-throw', 0, None)]),
    'phone-hello': (False, 'phone video, person speaking, short', [('phone-hello', 0, None)]),
    'game-tetravex': (False, 'Tetravex game play screencast (slow)', [('tetravex-demo', 0, None)]),
    'game-mahjongg': (False, 'Mahjongg game play screencast (slow), short', [('mahjongg-demo', 0, None)]),
    'webcam-motion': (False, 'indoor webcam motion, short', [('motion', 0, None)]),
}
# Other shipped encodes of the same footage (natural duplicates that no transformation made).
SHIPPED_DUPS = {'anim-megamind': ['megamind-bugy'], 'phone-hello': ['phone-hello-avi', 'phone-hello-mpeg']}

# Filler between which copies are embedded: footage in no benchmark original.
FILLER = ['city', 'rocket-launch', 'kphotoalbum-demo', 'lego-stopmotion', 'k3b-photovcd', 'ebu-ident', 'soundwave',
          'tupi-example', 'phone-vid', 'gem-anim', 'dual-discs', 'retro-mars', 'physics-magnet', 'physics-inertia', 'physics-ball']

# Hard negatives: name -> (kind, [(source, start, seconds or None)], post filter, crf)
LOWQ = 'scale=320:180'
NEGATIVES = {
    'neg--game--blupi-c': ([('blupi-play108', 0, None), ('blupi-play110', 0, None), ('blupi-play113', 0, None)], None, 23),
    'neg--game--blupi-d': ([('blupi-play116', 0, None), ('blupi-play118', 0, None), ('blupi-play119', 0, None)], None, 23),
    'neg--game--blupi-e': ([('blupi-play124', 0, None), ('blupi-win129', 0, None)], None, 23),
    'neg--game--lightsoff': ([('lightsoff-demo', 0, None)], None, 23),
    'neg--game--mahjongg-hints': ([('mahjongg-hints', 0, None)], None, 23),
    'neg--viz--lebiniou-c': ([('lebiniou-122300', 0, None), ('lebiniou-122340', 0, None), ('lebiniou-122429', 0, None)], None, 23),
    'neg--viz--lebiniou-d': ([('lebiniou-122701', 0, None), ('lebiniou-122741', 0, None), ('lebiniou-123258', 0, None)], None, 23),
    'neg--viz--lebiniou-e': ([('lebiniou-123446', 0, None), ('lebiniou-123523', 0, None)], None, 23),
    'neg--viz--cqt-coherence': ([('viz-cqt-coherence', 0, None)], None, 23),
    'neg--viz--cqt-rybky': ([('viz-cqt-rybky', 0, None)], None, 23),
    'neg--viz--scope-deprecation': ([('viz-scope-deprecation', 0, None)], None, 23),
    'neg--viz--spectrum-byproduct': ([('viz-spectrum-byproduct', 0, None)], None, 23),
    'neg--viz--waves-nebula': ([('viz-waves-nebula', 0, None)], None, 23),
    'neg--viz--waves-menu': ([('viz-waves-menu', 0, None)], None, 23),
    'neg--viz--soundwave': ([('soundwave', 60, 30)], None, 23),
    'neg--anim--tupi': ([('tupi-example', 0, None)], None, 23),
    'neg--anim--lego-stopmotion': ([('lego-stopmotion', 0, None), ('gem-anim', 0, None)], None, 23),
    'neg--anim--mix': ([('dual-discs', 0, None), ('retro-mars', 0, None), ('gem-anim', 0, None), ('tupi-example', 0, 5)], None, 23),
    'neg--handheld--physics-clips': ([('physics-magnet', 0, None), ('physics-inertia', 0, None), ('physics-ball', 0, None), ('phone-vid', 0, None)], None, 23),
    'neg--handheld--home-video': ([('kphotoalbum-demo', 0, None), ('city', 0, None), ('phone-vid', 0, None)], None, 23),
    'neg--real--rocket-city': ([('rocket-launch', 0, None), ('city', 0, None), ('kphotoalbum-demo', 0, None)], None, 23),
    'neg--testcard--ebu-ident': ([('ebu-ident', 0, 40)], None, 23),
    'neg--screen--dual-monitors': ([('dual-monitors', 0, None)], None, 23),
    'neg--screen--message-board': ([('message-board', 0, None)], None, 23),
    'neg--screen--progressbar': ([('progressbar', 0, None)], None, 23),
    'neg--screen--pampi-tour': ([('pampi-tour', 0, None)], None, 23),
    'neg--screen--k3b-photovcd': ([('k3b-photovcd', 0, None)], None, 23),
    'neg--screen--k3b-photosvcd': ([('k3b-photosvcd', 0, None)], None, 23),
    'neg--lowq--blupi-c': ([('blupi-play108', 0, None), ('blupi-play110', 0, None), ('blupi-play113', 0, None)], LOWQ, 40),
    'neg--lowq--lebiniou-d': ([('lebiniou-122701', 0, None), ('lebiniou-122741', 0, None), ('lebiniou-123258', 0, None)], LOWQ, 40),
    'neg--lowq--dual-monitors': ([('dual-monitors', 0, None)], LOWQ, 40),
    'neg--lowq--rocket-city': ([('rocket-launch', 0, None), ('city', 0, None), ('kphotoalbum-demo', 0, None)], LOWQ, 38),
    'neg--lowq--tupi': ([('tupi-example', 0, None)], LOWQ, 40),
    'neg--lowq--cqt-coherence': ([('viz-cqt-coherence', 0, None)], LOWQ, 40),
}

FAMILIES = ['reencode-crf40', 'downscale-144p', 'letterbox', 'pillarbox', 'crop-10pct', 'color-eq', 'logo-overlay',
            'fps15-vp9', 'grayscale', 'blur-noise', 'hflip', 'short-12s', 'pal-speedup', 'speed-5pct', 'stretch-10pct',
            'boxes-50pct', 'harsh-crf38-half', 'vp9-30fps-fast', 'fps-23.976', 'natural-dup',
            # layouts: the original fills only part of the training picture, or the training video shows part of it
            'vertical-crop', 'blurred-bg', 'reaction', 'meme', 'pip', 'player', 'corner-logo', 'subtitles',
            # a letterboxed re-upload whose bars carry a channel logo and subtitles
            'bar-overlays']
LAYOUTS = FAMILIES[FAMILIES.index('vertical-crop'):]
# corner-logo prefers dark originals (where a bright logo is what matters most): they are picked first. Dark: mean luma
# below 100 of 255 (signalstats YAVG at 1 fps over the original): the ffmpeg visualizers, Megamind, the Fish Fillets
# intro, the Blupi cut-scenes, the phone video, one Le Biniou recording, Tetravex.
DARK = {'viz-scope-aberrations', 'viz-spectrum-awakening', 'viz-cqt-journey', 'anim-megamind', 'anim-fillets-intro',
        'game-blupi-b', 'phone-hello', 'viz-lebiniou-b', 'game-tetravex', 'game-blupi-a'}
# The reaction face-cam (and neg--layout--facecam-alone): a man talking to a webcam, in no original (a FILLER source;
# 4:3 footage that SRC stretches to 16:9), played forwards and backwards in a loop.
FACECAM = 'kphotoalbum-demo'

# Layout hard negatives: the layouts' templates over footage that is in no original.
# name -> (layout, [(source, start, seconds or None)][, canvas size: each canvas of a layout gets a negative])
LAYOUT_NEGATIVES = {
    'neg--layout--vertical-crop-blupi-d': ('vertical-crop', [('blupi-play116', 0, None), ('blupi-play118', 0, None), ('blupi-play119', 0, None)]),
    'neg--layout--vertical-crop-lebiniou-c': ('vertical-crop', [('lebiniou-122300', 0, None), ('lebiniou-122340', 0, None)]),
    'neg--layout--vertical-crop-rocket-city': ('vertical-crop', [('rocket-launch', 0, None), ('city', 0, None), ('tupi-example', 0, None)]),
    'neg--layout--blurred-bg-blupi-e': ('blurred-bg', [('blupi-play124', 0, None), ('blupi-win129', 0, None)]),
    'neg--layout--blurred-bg-cqt-rybky': ('blurred-bg', [('viz-cqt-rybky', 0, None)]),
    'neg--layout--blurred-bg-tupi-lego': ('blurred-bg', [('tupi-example', 0, None), ('lego-stopmotion', 0, None)], (360, 640)),
    'neg--layout--reaction-blupi-c': ('reaction', [('blupi-play108', 0, None), ('blupi-play110', 0, None), ('blupi-play113', 0, None)]),
    'neg--layout--reaction-spectrum-byproduct': ('reaction', [('viz-spectrum-byproduct', 0, None)]),
    'neg--layout--reaction-lightsoff': ('reaction', [('lightsoff-demo', 0, None)]),
    'neg--layout--meme-lebiniou-d': ('meme', [('lebiniou-122701', 0, None), ('lebiniou-122741', 0, None)]),
    'neg--layout--meme-lego-gem': ('meme', [('lego-stopmotion', 0, None), ('gem-anim', 0, None), ('dual-discs', 0, None)]),
    'neg--layout--meme-blupi-d': ('meme', [('blupi-play118', 0, None), ('blupi-play119', 0, None)]),
    'neg--layout--pip-lebiniou-e': ('pip', [('lebiniou-123446', 0, None), ('lebiniou-123523', 0, None)]),
    'neg--layout--pip-scope-deprecation': ('pip', [('viz-scope-deprecation', 0, None)]),
    'neg--layout--pip-blupi-c': ('pip', [('blupi-play108', 0, None), ('blupi-play110', 0, None)]),
    'neg--layout--player-mahjongg-hints': ('player', [('mahjongg-hints', 0, None)], (640, 360)),
    'neg--layout--player-cqt-coherence': ('player', [('viz-cqt-coherence', 0, None)]),
    'neg--layout--player-blupi-e': ('player', [('blupi-play124', 0, None), ('blupi-win129', 0, None)]),
    'neg--layout--corner-logo-blupi-d': ('corner-logo', [('blupi-play116', 0, None), ('blupi-play118', 0, None)]),
    'neg--layout--corner-logo-waves-nebula': ('corner-logo', [('viz-waves-nebula', 0, None)]),
    'neg--layout--subtitles-lebiniou-c': ('subtitles', [('lebiniou-122300', 0, None), ('lebiniou-122429', 0, None)]),
    'neg--layout--subtitles-tupi-rocket': ('subtitles', [('tupi-example', 0, None), ('rocket-launch', 0, None)]),
    'neg--layout--facecam-alone': ('facecam', [(FACECAM, 0, None)]),
}
FACECAM_ALONE_SECONDS = 20

MEME_CAPTIONS = [['WHEN THE CUTSCENE', 'HITS DIFFERENT'], ['NOBODY', 'ABSOLUTELY NOBODY'], ['ME AT 3 AM'],
                 ['POV YOU FINALLY', 'BEAT THE LEVEL'], ['THIS IS FINE'], ['WAIT FOR IT'], ['MONDAY MORNING BE LIKE'],
                 ['MY BRAIN DURING', 'THE EXAM'], ['WHEN MOM SAYS', 'DINNER IS READY'], ['TAG A FRIEND WHO', 'DOES THIS'],
                 ['CAN WE TALK', 'ABOUT THIS'], ['HOW IT STARTED']]
SUBTITLE_LINES = ['I told you we should not come here', 'Look at that over there', 'Where are you going?',
                  'We have to leave right now', 'This is not what I expected', 'Hold on a second', 'Did you see that?',
                  'I think it is moving', 'Keep going and do not look back', 'That was close', 'Come back here!',
                  'Nobody knows what happened', 'It all started a long time ago', 'We are almost there', 'Listen to me',
                  'I can not believe it', 'What is that sound?', 'Everything is going to be fine', 'Follow me',
                  'Stay right where you are', 'It is bigger than I thought', 'One more time', 'Are you ready?',
                  'Let us try something else', 'That is the last one']
PLAYER_TITLES = ['clip_final_v2.mp4', 'VID_2024_0612.mp4', 'recording (3).mkv', 'best moments compilation.mp4',
                 'download.webm', 'untitled video.mp4']
LOGO_NAMES = ['VIRAL HQ', 'TOP CLIPS', 'FUNTV', 'GAMEZ', 'MEGA', 'REPOST', 'HD 24/7']


def even(x):
    return int(round(x / 2)) * 2


def facecam(idx, n, nframes, w, h, label):
    """The face-cam footage (input idx) scaled to w x h, played forwards then backwards, looped to n frames."""
    f = nframes[FACECAM]
    return (f'[{idx}:v]scale={w}:{h},setsar=1,setpts=PTS-STARTPTS,split[{label}a][{label}b];'
            f'[{label}b]trim=start_frame=1:end_frame={f - 1},setpts=PTS-STARTPTS,reverse[{label}r];'
            f'[{label}a][{label}r]concat=n=2:v=1,loop=loop=-1:size={2 * f - 2},setpts=N/({FPS}*TB),trim=end_frame={n}[{label}]')


def subtitle_cues(r, T):
    """Subtitle cues over T seconds, a new seeded line every 2-3 s: [(start, end, line)]."""
    cues, t, last = [], r.uniform(0, 1), None
    while t < T - 0.5:
        d = r.uniform(2, 3)
        line = r.choice([s for s in SUBTITLE_LINES if s != last])
        cues.append((round(t, 2), round(min(t + d, T), 2), line))
        last, t = line, t + d + r.uniform(0.1, 0.5)
    return cues


def layout(fam, r, n, k, nframes, filler, size=None):
    """The layout of family fam over the concatenated training video [c] of n frames (640x360): returns the extra
    inputs (numbered from k), the filter graph from [c] to [v], and what truth.json records of it: the canvas, where
    the picture of [c] sits in it (rect) and which part of [c] it shows (shows), both x, y, w, h in pixels.
    size: the canvas of a layout that draws one (blurred-bg, meme, player) instead of the seeded one (still drawn)."""
    T = n / FPS
    canvas = lambda w, h, c: f'color=c={c}:s={w}x{h}:r={FPS},trim=end_frame={n},setsar=1'  # noqa: E731
    text = lambda t, size, color, x, y, more='': (f"drawtext=fontfile={FONT}:text='{t}':fontsize={size}:fontcolor={color}"  # noqa: E731
                                                  f':x={x}:y={y}{more}')
    full = [0, 0, 640, 360]
    if fam == 'vertical-crop':  # the centre 9:16 strip, full height, as a portrait video
        return [], '[c]crop=202:360:219:0,scale=360:640,setsar=1[v]', {
            'layout': fam, 'canvas': [360, 640], 'rect': [0, 0, 360, 640], 'shows': [219, 0, 202, 360]}
    if fam == 'blurred-bg':  # a short-video re-upload: the video over a blurred enlargement of itself
        W, H = r.choice([(360, 640), (640, 360)])
        W, H = size or (W, H)
        fw = even(W * r.uniform(0.5, 0.8))
        fh = even(fw * 9 / 16)
        x, y = even((W - fw) / 2), even(r.uniform(0.1, 0.9) * (H - fh))
        g = (f'[c]split[la][lb];[la]scale={W}:{H}:force_original_aspect_ratio=increase,crop={W}:{H},gblur=sigma=20[lbg];'
             f'[lb]scale={fw}:{fh}[lfg];[lbg][lfg]overlay={x}:{y},setsar=1[v]')
        return [], g, {'layout': fam, 'canvas': [W, H], 'rect': [x, y, fw, fh], 'shows': full, 'background': 'the video, gblur sigma 20'}
    if fam == 'reaction':  # the video on one side of a solid canvas, a face-cam on the other
        W, H = 640, 360
        color = r.choice(['0x1b1f3b', '0x2d2d2d', '0x3a0ca3', '0x0b6e4f', '0x7b2cbf', '0xb5179e', '0x457b9d', '0xe76f51'])
        fw = even(W * r.uniform(0.5, 0.7))
        fh = even(fw * 9 / 16)
        m = r.choice([6, 8, 10])
        left = r.random() < 0.5
        cw = even(W * r.uniform(0.25, min(0.35, (W - fw - 3 * m) / W)))
        ch = even(cw * 3 / 4)
        fx, fy = (m if left else W - fw - m), even((H - fh) / 2)
        x0 = fx + fw if left else 0  # the side left for the face-cam
        cx = x0 + even((W - fw - m - cw) / 2)
        cy = even(r.choice([m, (H - ch) / 2, H - ch - m]))
        g = (facecam(k, n, nframes, cw - 4, ch - 4, 'lcam') + f';[lcam]pad={cw}:{ch}:2:2:color=white[lcamb];'
             f'{canvas(W, H, color)}[lbg];[c]scale={fw}:{fh}[lfg];[lbg][lfg]overlay={fx}:{fy}[l1];[l1][lcamb]overlay={cx}:{cy},setsar=1[v]')
        return ['-i', os.path.join(SRC, FACECAM + '.mp4')], g, {
            'layout': fam, 'canvas': [W, H], 'rect': [fx, fy, fw, fh], 'shows': full, 'background': color,
            'facecam': {'source': FACECAM, 'rect': [cx, cy, cw, ch]}}
    if fam == 'meme':  # a caption over the video on a plain canvas
        W, H = r.choice([(640, 480), (480, 600)])
        W, H = size or (W, H)
        bg, fg = r.choice([('white', 'black'), ('white', 'black'), ('0xfff3b0', 'black'), ('0xffd6e0', 'black'),
                           ('0x1d3557', 'white'), ('black', 'white')])
        lines = r.choice(MEME_CAPTIONS)
        fs = even(W / 20)
        lh, top = round(fs * 1.3), round(fs * 0.6)
        fw = even(W * r.uniform(0.5, 0.7))
        fh = even(fw * 9 / 16)
        x, y = even((W - fw) / 2), even(top + len(lines) * lh + fs * 0.5)
        caption = ','.join(text(t, fs, fg, '(w-text_w)/2', top + i * lh) for i, t in enumerate(lines))
        g = f'{canvas(W, H, bg)},{caption}[lbg];[c]scale={fw}:{fh}[lfg];[lbg][lfg]overlay={x}:{y},setsar=1[v]'
        return [], g, {'layout': fam, 'canvas': [W, H], 'rect': [x, y, fw, fh], 'shows': full, 'background': bg, 'caption': lines}
    if fam == 'pip':  # the video inset in a corner of unrelated full-frame footage (filler)
        W, H = 640, 360
        bgp = filler(n / FPS, r)
        chains = [f'[{k + i}:v]trim=start_frame={int(round(st * FPS))}:end_frame={int(round((st + se) * FPS))},setpts=PTS-STARTPTS[lp{i}]'
                  for i, (src, st, se) in enumerate(bgp)]
        iw = even(W * r.uniform(0.25, 0.40))
        ih = even(iw * 9 / 16)
        corner = r.choice(['top-left', 'top-right', 'bottom-left', 'bottom-right'])
        m = r.choice(range(10, 26, 2))
        b = r.choice([0, 2])
        x = m if corner.endswith('left') else W - iw - 2 * b - m
        y = m if corner.startswith('top') else H - ih - 2 * b - m
        g = (';'.join(chains) + ';' + ''.join(f'[lp{i}]' for i in range(len(bgp))) + f'concat=n={len(bgp)}:v=1[lbg];'
             f'[c]scale={iw}:{ih},pad={iw + 2 * b}:{ih + 2 * b}:{b}:{b}:color=white[lfg];[lbg][lfg]overlay={x}:{y},setsar=1[v]')
        inputs = [a for src, _, _ in bgp for a in ('-i', os.path.join(SRC, src + '.mp4'))]
        return inputs, g, {'layout': fam, 'canvas': [W, H], 'rect': [x + b, y + b, iw, ih], 'shows': full, 'corner': corner, 'border': b,
                           'background': [{'source': s, 'start': round(st, 3), 'seconds': round(se, 3)} for s, st, se in bgp]}
    if fam == 'player':  # a screen recording of a desktop video player
        W, H = r.choice([(640, 360), (800, 450)])
        W, H = size or (W, H)
        ui = r.choice(['0x1b1b1b', '0x222222', '0x2a2a2a', '0x1e2127'])
        th, cb = even(H * 0.065), even(H * 0.085)
        fw = even(W * r.uniform(0.70, 0.85))
        fh = even(fw * 9 / 16)
        assert th + fh + cb <= H
        x, y = even((W - fw) / 2), th + even((H - th - cb - fh) / 2)
        title = r.choice(PLAYER_TITLES)
        p0 = r.uniform(0, 0.6)  # where the progress bar starts: the recording starts mid-video
        bx0, bx1 = 56, W - 230
        D = T / (1 - p0)  # the length of the video in the player: the progress bar reaches its end with the recording
        clock = (f"%{{eif\\:trunc((t+{p0 * D:.2f})/60)\\:d}}\\:%{{eif\\:mod(t+{p0 * D:.2f}\\,60)\\:d\\:2}} / "
                 f"{int(D // 60)}\\:{int(D % 60):02d}")
        tw, by = bx1 - bx0, H - cb // 2 - 2
        accent = r.choice(['0xe02020', '0x3d8bfd', '0xff8800'])
        tfs, cfs = even(th * 0.55), even(cb * 0.4)
        cy0 = H - cb
        box = lambda bx, byy, bw, bh, c, t='fill': f'drawbox=x={bx}:y={byy}:w={bw}:h={bh}:color={c}:t={t}'  # noqa: E731
        chrome = ','.join([
            box(0, 0, W, th, '0x3c3c3c'), text(f'{title} - Media Player', tfs, '0xdddddd', 10, (th - tfs) // 2),
            box(W - 66, th // 4, 14, th // 2, '0x888888'), box(W - 46, th // 4, 14, th // 2, '0x888888'),
            box(W - 26, th // 4, 14, th // 2, '0xd04040'), box(0, th, W, H - th - cb, 'black')])
        controls = ','.join([
            box(0, cy0, W, cb, '0x111111'), box(12, cy0 + cb * 3 // 10, 5, cb * 4 // 10, 'white'),
            box(21, cy0 + cb * 3 // 10, 5, cb * 4 // 10, 'white'), box(34, cy0 + cb * 3 // 10, 10, cb * 4 // 10, '0xbbbbbb'),
            text(clock, cfs, '0xcccccc', bx1 + 12, cy0 + (cb - cfs) // 2),
            box(W - 90, by, 40, 4, '0xbbbbbb'), box(W - 30, cy0 + cb * 3 // 10, 16, cb * 4 // 10, 'white', 2)])
        prog = f'{tw}*({p0:.4f}+{1 - p0:.4f}*t/{T:.3f})'
        g = (f'{canvas(W, H, ui)},{chrome}[lbg];[c]scale={fw}:{fh}[lfg];[lbg][lfg]overlay={x}:{y},{controls}[l1];'
             f'color=c=0x555555:s={tw}x4:r={FPS},trim=end_frame={n}[ltr];color=c={accent}:s={tw}x4:r={FPS},trim=end_frame={n}[lfi];'
             f"[ltr][lfi]overlay=x='-{tw}+{prog}':y=0:eval=frame[lpb];[l1][lpb]overlay={bx0}:{by}[l2];"
             f"color=c=white:s=10x10:r={FPS},trim=end_frame={n}[lkn];[l2][lkn]overlay=x='{bx0 - 5}+{prog}':y={by - 3}:eval=frame,setsar=1[v]")
        return [], g, {'layout': fam, 'canvas': [W, H], 'rect': [x, y, fw, fh], 'shows': full, 'title': title, 'ui': ui}
    if fam == 'corner-logo':  # a bright semi-transparent channel logo in a lower corner
        W, H = 640, 360
        color = r.choice(['yellow', 'magenta', 'cyan', 'orange'])
        alpha = round(r.uniform(0.6, 0.9), 2)
        area = r.uniform(0.03, 0.08)
        aspect = r.uniform(2.0, 3.0)
        lw = even((area * W * H * aspect) ** 0.5)
        lh = even(area * W * H / lw)
        right = r.random() < 0.5
        m = r.choice(range(8, 22, 2))
        x, y = (W - lw - m if right else m), H - lh - m
        name = r.choice(LOGO_NAMES)
        fs = int(min(lh * 0.45, lw * 0.85 / (0.6 * len(name))))
        g = (f'[c]drawbox=x={x}:y={y}:w={lw}:h={lh}:color={color}@{alpha}:t=fill,'
             + text(name, fs, f'black@{alpha}', f'{x}+({lw}-text_w)/2', f'{y}+({lh}-text_h)/2') + ',setsar=1[v]')
        return [], g, {'layout': fam, 'canvas': [W, H], 'rect': full, 'shows': full, 'logo': [x, y, lw, lh],
                       'logoArea': round(lw * lh / (W * H), 4), 'color': f'{color}@{alpha}', 'text': name}
    if fam == 'subtitles':  # burned-in subtitles, a new line every 2-3 s
        H = 360
        fs = round(H * r.uniform(0.05, 0.07))
        yc = round(H * r.uniform(0.85, 0.92) - fs / 2)
        bw = r.choice([2, 3])
        cues = subtitle_cues(r, T)
        g = '[c]' + ','.join(text(line, fs, 'white', '(w-text_w)/2', yc, f":borderw={bw}:bordercolor=black:enable='between(t,{a},{b})'")
                             for a, b, line in cues) + ',setsar=1[v]'
        return [], g, {'layout': fam, 'canvas': [640, 360], 'rect': full, 'shows': full, 'fontsize': fs, 'y': yc, 'cues': len(cues)}
    if fam == 'bar-overlays':  # 16:9 in a 4:3 frame: black bars, a channel logo in a top corner, subtitles in the bottom bar
        W, H, bar = 640, 480, 60
        color = r.choice(['yellow', 'magenta', 'cyan', 'orange', 'white'])
        alpha = round(r.uniform(0.6, 0.9), 2)
        lw, lh = even(W * r.uniform(0.15, 0.25)), even(bar * r.uniform(0.6, 1.4))  # the larger ones reach into the picture
        right = r.random() < 0.5
        m = r.choice(range(8, 22, 2))
        x, y = (W - lw - m if right else m), r.choice([6, 10, 14])
        name = r.choice(LOGO_NAMES)
        fs = int(min(lh * 0.45, lw * 0.85 / (0.6 * len(name))))
        sfs = round(bar * r.uniform(0.38, 0.5))
        yc = H - bar + (bar - sfs) // 2
        cues = subtitle_cues(r, T)
        subs = ','.join(text(line, sfs, 'white', '(w-text_w)/2', yc, f":enable='between(t,{a},{b})'") for a, b, line in cues)
        g = (f'[c]pad={W}:{H}:0:{bar}:color=black,drawbox=x={x}:y={y}:w={lw}:h={lh}:color={color}@{alpha}:t=fill,'
             + text(name, fs, f'black@{alpha}', f'{x}+({lw}-text_w)/2', f'{y}+({lh}-text_h)/2') + f',{subs},setsar=1[v]')
        return [], g, {'layout': fam, 'canvas': [W, H], 'rect': [0, bar, 640, 360], 'shows': full, 'logo': [x, y, lw, lh],
                       'color': f'{color}@{alpha}', 'text': name, 'subtitles': {'fontsize': sfs, 'y': yc, 'cues': len(cues)}}
    raise ValueError(fam)


def ff(args):
    subprocess.run(['ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error', '-y'] + args, check=True)


def frames(path):
    r = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries',
                        'stream=nb_read_packets', '-of', 'csv=p=0', path], check=True, capture_output=True, text=True)
    return int(r.stdout.strip().split(',')[0])


def produce(jobs):
    """Runs (output path, ffmpeg args) jobs, JOBS at a time, skipping outputs already made."""
    todo = [(o, a) for o, a in jobs if not (os.path.exists(o) and os.path.getsize(o) > 0)]

    def one(job):
        o, a = job
        tmp = o + '.part' + os.path.splitext(o)[1]
        ff(a + [tmp])
        os.replace(tmp, o)

    with ThreadPoolExecutor(JOBS) as pool:
        for _ in pool.map(one, todo):
            pass
    return len(todo)


def piece_filters(pieces, nframes, first_input=0):
    """Inputs and filter chains for concatenated pieces [(source, start s, seconds)] of SRC clips."""
    inputs, chains, used = [], [], []
    for i, (src, start, secs) in enumerate(pieces):
        a = int(round(start * FPS))
        b = nframes[src] if secs is None else min(nframes[src], a + int(round(secs * FPS)))
        inputs += ['-i', os.path.join(SRC, src + '.mp4')]
        chains.append(f'[{first_input + i}:v]trim=start_frame={a}:end_frame={b},setpts=PTS-STARTPTS[p{first_input + i}]')
        used.append((src, a / FPS, (b - a) / FPS))
    return inputs, chains, used


def main():
    rng = random.Random(SEED)
    for d in ('bench', 'train', 'tmp/src'):
        os.makedirs(os.path.join(OUT, d), exist_ok=True)

    # 1. Normalised sources and visualizer renders.
    jobs = []
    for name, f in CLIP_FILES.items():
        jobs.append((os.path.join(SRC, name + '.mp4'), ['-i', os.path.join(CLIPS, f), '-vf', NORM] + ENC))
    for name, (music, start, secs, style) in VIZ.items():
        jobs.append((os.path.join(SRC, name + '.mp4'), ['-ss', str(start), '-t', str(secs), '-i', os.path.join(MUSIC, music),
                     '-filter_complex', f'[0:a]{VIZ_FILTER[style]},format=yuv420p,setsar=1[v]', '-map', '[v]', '-r', '25'] + ENC))
    print(f'sources: {produce(jobs)} made', file=sys.stderr)
    cache = os.path.join(SRC, 'frames.json')
    nframes = json.load(open(cache)) if os.path.exists(cache) else {}
    for f in sorted(os.listdir(SRC)):
        if f.endswith('.mp4') and '.part' not in f and f[:-4] not in nframes:
            nframes[f[:-4]] = frames(os.path.join(SRC, f))
    with open(cache, 'w') as fh:
        json.dump(nframes, fh)

    # 2. Benchmark originals (disjoint footage: no two originals share a frame).
    jobs, originals = [], {}
    for name, (fast, what, pieces) in ORIGINALS.items():
        inputs, chains, used = piece_filters(pieces, nframes)
        n = len(pieces)
        fc = ';'.join(chains) + ';' + ''.join(f'[p{i}]' for i in range(n)) + f'concat=n={n}:v=1[v]'
        jobs.append((os.path.join(OUT, 'bench', name + '.mp4'), inputs + ['-filter_complex', fc, '-map', '[v]'] + x264(18, 'veryfast')))
        t, placed = 0.0, []
        for src, start, secs in used:
            placed.append({'source': src, 'sourceStart': round(start, 3), 'seconds': round(secs, 3), 'at': round(t, 3)})
            t += secs
        originals[name] = {'fast': fast, 'what': what, 'seconds': round(t, 3), 'pieces': placed}
    print(f'originals: {produce(jobs)} made', file=sys.stderr)

    # 2b. Long unrelated footage for bench/eval/chance.mjs only (not in train/): whole game-music tracks that no
    # original uses, each through three visualizers at 5 fps (the engine samples 1 fps), and the whole soundwave clip.
    os.makedirs(os.path.join(OUT, 'chance'), exist_ok=True)
    jobs = []
    for music in ('sing-coherence.ogg', 'sing-deprecation.ogg', 'sing-byproduct.ogg', 'sing-nebula.ogg', 'fillets-rybky01.ogg'):
        for style in ('cqt', 'scope', 'waves'):  # (showspectrum renders whole tracks too slowly)
            vf = VIZ_FILTER[style].replace('r=25', 'r=5').replace('fps=25', 'fps=5')
            jobs.append((os.path.join(OUT, 'chance', f'{style}-{music[:-4]}.mp4'), ['-i', os.path.join(MUSIC, music),
                         '-filter_complex', f'[0:a]{vf},format=yuv420p,setsar=1[v]', '-map', '[v]', '-r', '5'] + x264(23)))
    jobs.append((os.path.join(OUT, 'chance', 'soundwave-whole.mp4'), ['-i', os.path.join(SRC, 'soundwave.mp4')] + x264(23)))
    print(f'chance footage: {produce(jobs)} made', file=sys.stderr)

    # 3. Split: fast and slow originals shuffled apart and dealt alternately into the two halves.
    split = {}
    for fast in (True, False):
        names = sorted(n for n, o in originals.items() if o['fast'] == fast)
        rng.shuffle(names)
        for i, n in enumerate(names):
            split[n] = 'tuning' if (i % 2 == 0) == fast else 'heldout'
    for n in originals:
        originals[n]['half'] = split[n]

    # 4. Planted copies.
    truth, jobs = {}, []

    def filler(seconds, r=None):
        """A filler stretch of about `seconds` (a fractional length), from random filler sources (drawn from r, else rng)."""
        r = r or rng
        out, left = [], int(round(seconds * FPS))
        while left > 0:
            src = r.choice(FILLER)
            total = nframes[src]
            take = min(left, total, r.randint(3 * FPS, 9 * FPS))
            a = r.randint(0, max(0, total - take))
            out.append((src, a / FPS, take / FPS))
            left -= take
        return out

    # Which originals each family copies: PER_HALF originals of each half (seeded; the originals with
    # another shipped encode always get their natural duplicate). Every original gets several families.
    pick = random.Random(SEED + 1)
    chosen = set()
    for fam in FAMILIES:
        for half in ('tuning', 'heldout'):
            ok = sorted(n for n, o in originals.items() if split[n] == half
                        and (fam not in ('vp9-30fps-fast', 'subtitles') or o['fast']) and (fam != 'short-12s' or o['seconds'] >= 16))
            forced = [n for n in ok if fam == 'natural-dup' and n in SHIPPED_DUPS]
            if fam == 'corner-logo':  # the dark originals first, in a seeded order
                forced = [n for n in ok if n in DARK]
                pick.shuffle(forced)
            rest = [n for n in ok if n not in forced]
            pick.shuffle(rest)
            for n in (forced + rest)[:max(PER_HALF, len(forced) if fam == 'natural-dup' else 0)]:
                chosen.add((fam, n))

    for oname in sorted(originals):
        o = originals[oname]
        dur, fast, short = o['seconds'], o['fast'], o['seconds'] < 20
        bench = os.path.join(OUT, 'bench', oname + '.mp4')
        for fam in FAMILIES:
            if (fam, oname) not in chosen:
                continue
            # Each copy draws from its own generator: its offsets, filler and parameters do not depend on
            # which other copies the set holds (VDEDUP_EVAL_PER_HALF can grow the set without changing them).
            rng = random.Random(f'{SEED}:{fam}:{oname}')
            if fam == 'natural-dup':
                dups = SHIPPED_DUPS.get(oname)
                if dups:
                    for k, d in enumerate(dups, 1):
                        ext = os.path.splitext(CLIP_FILES[d])[1]
                        fname = f'copy--natural-dup--{oname}--{k}{ext}'
                        jobs.append((os.path.join(OUT, 'train', fname), ['-i', os.path.join(CLIPS, CLIP_FILES[d]), '-c', 'copy', '-map', '0']))
                        truth[fname] = {'kind': 'copy', 'family': 'natural-dup', 'original': oname, 'origStart': None, 'origEnd': None,
                                        'trainStart': 0.0, 'trainEnd': None, 'speed': 1.0, 'how': f'another encode shipped in the package ({CLIP_FILES[d]}), untouched; alignment not measured'}
                    continue
                # An independent encode of the source file: a few pixels cropped, another encoder, the source's own frame rate.
                pi = rng.randrange(len(o['pieces']))
                p = o['pieces'][pi]
                secs = min(p['seconds'], rng.uniform(20, 40)) if p['seconds'] > 21 else p['seconds']
                s = rng.uniform(0.1, max(0.1, p['seconds'] - secs)) if p['seconds'] > 21 else 0.0
                s = round(s, 2)
                if p['seconds'] > 21:
                    secs = round(min(secs, p['seconds'] - s), 2)
                c = rng.randint(2, 4) * 2
                raw = p['source']
                codec = rng.choice([('mpeg4', '.avi', ['-c:v', 'mpeg4', '-q:v', '5']), ('mpeg2', '.mpg', ['-c:v', 'mpeg2video', '-q:v', '6']),
                                    ('theora', '.ogv', ['-c:v', 'libtheora', '-q:v', '5'])])
                if raw.startswith('viz-'):
                    srcfile = os.path.join(SRC, raw + '.mp4')
                else:
                    srcfile = os.path.join(CLIPS, CLIP_FILES[raw])
                fname = f'copy--natural-dup--{oname}--1{codec[1]}'
                args = ['-ss', f'{p["sourceStart"] + s:.2f}', '-i', srcfile, '-t', f'{secs:.2f}',
                        '-vf', f'crop=iw-{c}:ih-{c}:{c // 2}:{c // 2},scale=trunc(iw*0.85/2)*2:trunc(ih*0.85/2)*2,setsar=1'] + codec[2] + ['-an']
                jobs.append((os.path.join(OUT, 'train', fname), args))
                truth[fname] = {'kind': 'copy', 'family': 'natural-dup', 'original': oname, 'origStart': round(p['at'] + s, 3),
                                'origEnd': round(p['at'] + s + secs, 3), 'trainStart': 0.0, 'trainEnd': round(secs, 3), 'speed': 1.0,
                                'how': f'independent {codec[0]} encode of the source file {raw}, {c} px cropped, 85% size, source frame rate'}
                continue

            # Excerpt: 20-40 s at a fractional offset, or the whole original when it is short.
            total = int(round(dur * FPS))
            if fam == 'short-12s':
                n = 12 * FPS
            elif short or dur < 22:
                n = total
            else:
                n = int(round(rng.uniform(20, min(40, dur - 0.5)) * FPS))
            if n >= total:
                a, n = 0, total
            else:
                while True:  # a start that is not a whole second
                    a = rng.randint(1, total - n)
                    if a % FPS not in (0, 1, FPS - 1):
                        break
            speed = 1.0
            if fam == 'pal-speedup':
                speed = 25 / 24
            elif fam == 'speed-5pct':
                speed = rng.choice([1.05, 1 / 1.05])
            elif fam == 'stretch-10pct':
                speed = rng.choice([1.10, 1 / 1.10])
            # Embedding: filler before (always for whole-original copies: the copy then still sits at a fractional time) and after.
            pre = filler(rng.uniform(3, 14)) if (a == 0 or rng.random() < 0.6) else []
            post = filler(rng.uniform(3, 12)) if rng.random() < 0.5 else []
            if pre and sum(x[2] for x in pre) % 1 < 0.12:  # keep the copy off whole seconds of the training video
                pre.append((pre[-1][0], 0.0, 0.2))
            ext, enc = '.mp4', x264(26)
            vf = 'null'
            if fam == 'reencode-crf40':
                enc = x264(40)
            elif fam == 'downscale-144p':
                vf, enc = 'scale=256:144', x264(28)
            elif fam == 'letterbox':
                vf = 'scale=480:270,pad=480:360:0:45'
            elif fam == 'pillarbox':
                vf = 'scale=480:360,pad=640:360:80:0'
            elif fam == 'crop-10pct':
                vf = 'crop=iw*0.8:ih*0.8,scale=640:360'
            elif fam == 'color-eq':
                vf = 'eq=brightness=0.08:contrast=1.25:saturation=1.5'
            elif fam == 'logo-overlay':
                vf = (f'drawbox=x=iw*0.72:y=ih*0.06:w=iw*0.22:h=ih*0.14:color=white@0.8:t=fill,'
                      f'drawtext=fontfile={FONT}:text=CHANNEL:x=w*0.74:y=h*0.09:fontsize=22:fontcolor=black')
            elif fam == 'fps15-vp9':
                vf, ext = 'fps=15', '.webm'
                enc = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-an']
            elif fam == 'grayscale':
                vf = 'format=gray,format=yuv420p'
            elif fam == 'blur-noise':
                vf = 'gblur=sigma=2,noise=alls=18:allf=t'
            elif fam == 'hflip':
                vf = 'hflip'
            elif fam == 'boxes-50pct':
                # two boxes of 20% x 20% of the frame (8% of its area together) at 50% opacity
                x1, y1, x2, y2 = (round(rng.uniform(0.02, 0.3), 2), round(rng.uniform(0.02, 0.75), 2),
                                  round(rng.uniform(0.55, 0.78), 2), round(rng.uniform(0.02, 0.75), 2))
                vf = (f'drawbox=x=iw*{x1}:y=ih*{y1}:w=iw*0.2:h=ih*0.2:color=white@0.5:t=fill,'
                      f'drawbox=x=iw*{x2}:y=ih*{y2}:w=iw*0.2:h=ih*0.2:color=black@0.5:t=fill')
            elif fam == 'harsh-crf38-half':
                vf, enc = 'scale=320:180', x264(rng.randint(38, 42))
            elif fam == 'vp9-30fps-fast':
                vf, ext = 'fps=30', '.webm'
                enc = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-crf', '42', '-b:v', '0', '-an']
            elif fam == 'fps-23.976':
                vf = 'fps=24000/1001'
            fname = f'copy--{fam}--{oname}--1{ext}'
            pieces_pre, chains, k = [], [], 0
            inputs = []
            segs = []
            for src, st, secs in pre:
                inputs += ['-i', os.path.join(SRC, src + '.mp4')]
                chains.append(f'[{k}:v]trim=start_frame={int(round(st * FPS))}:end_frame={int(round((st + secs) * FPS))},setpts=PTS-STARTPTS[s{k}]')
                segs.append(f'[s{k}]')
                k += 1
            inputs += ['-i', bench]
            sp = f',setpts=PTS/{speed:.6f},fps=25' if speed != 1.0 else ''
            chains.append(f'[{k}:v]trim=start_frame={a}:end_frame={a + n},setpts=PTS-STARTPTS{sp}[s{k}]')
            segs.append(f'[s{k}]')
            k += 1
            for src, st, secs in post:
                inputs += ['-i', os.path.join(SRC, src + '.mp4')]
                chains.append(f'[{k}:v]trim=start_frame={int(round(st * FPS))}:end_frame={int(round((st + secs) * FPS))},setpts=PTS-STARTPTS[s{k}]')
                segs.append(f'[s{k}]')
                k += 1
            lay = None
            if fam in LAYOUTS:  # over the whole training video, filler included; the copy at speed 1
                ntot = sum(int(round(x[2] * FPS)) for x in pre + post) + n
                more, graph, lay = layout(fam, rng, ntot, k, nframes, filler)
                inputs += more
                fc = ';'.join(chains) + ';' + ''.join(segs) + f'concat=n={k}:v=1[c];' + graph
            else:
                fc = ';'.join(chains) + ';' + ''.join(segs) + f'concat=n={k}:v=1[c];[c]{vf}[v]'
            jobs.append((os.path.join(OUT, 'train', fname), inputs + ['-filter_complex', fc, '-map', '[v]'] + enc))
            t0 = sum(int(round(x[2] * FPS)) for x in pre) / FPS
            t1 = t0 + n / FPS / speed
            truth[fname] = {'kind': 'copy', 'family': fam, 'original': oname, 'origStart': round(a / FPS, 3), 'origEnd': round((a + n) / FPS, 3),
                            'trainStart': round(t0, 3), 'trainEnd': round(t1, 3), 'speed': round(speed, 6),
                            'filler': [{'source': s, 'start': round(st, 3), 'seconds': round(se, 3), 'where': w}
                                       for w, lst in (('before', pre), ('after', post)) for s, st, se in lst]}
            if lay:
                truth[fname]['layout'] = lay

    # 5. Hard negatives: no footage of any benchmark original.
    for name, (pieces, post, crf) in NEGATIVES.items():
        inputs, chains, used = piece_filters(pieces, nframes)
        n = len(pieces)
        fc = ';'.join(chains) + ';' + ''.join(f'[p{i}]' for i in range(n)) + f'concat=n={n}:v=1[c];[c]{post or "null"}[v]'
        fname = name + '.mp4'
        jobs.append((os.path.join(OUT, 'train', fname), inputs + ['-filter_complex', fc, '-map', '[v]'] + x264(crf)))
        truth[fname] = {'kind': 'negative', 'negKind': name.split('--')[1], 'sources': [u[0] for u in used], 'post': post}
    # Layout negatives: the copies' layouts (same templates, face-cam and filler) over footage of no original.
    for name, (lay, pieces, *size) in LAYOUT_NEGATIVES.items():
        r = random.Random(f'{SEED}:{name}')
        fname = name + '.mp4'
        if lay == 'facecam':  # the face-cam footage alone, full frame, looped as in the reaction layout
            n = FACECAM_ALONE_SECONDS * FPS
            args = ['-i', os.path.join(SRC, FACECAM + '.mp4'), '-filter_complex', facecam(0, n, nframes, 640, 360, 'v'), '-map', '[v]']
            info, used = {'layout': 'facecam', 'canvas': [640, 360], 'seconds': FACECAM_ALONE_SECONDS}, [(FACECAM,)]
        else:
            inputs, chains, used = piece_filters(pieces, nframes)
            n = sum(int(round(u[2] * FPS)) for u in used)
            more, graph, info = layout(lay, r, n, len(pieces), nframes, filler, *size)
            fc = ';'.join(chains) + ';' + ''.join(f'[p{i}]' for i in range(len(pieces))) + f'concat=n={len(pieces)}:v=1[c];' + graph
            args = inputs + more + ['-filter_complex', fc, '-map', '[v]']
        jobs.append((os.path.join(OUT, 'train', fname), args + x264(23)))
        truth[fname] = {'kind': 'negative', 'negKind': 'layout', 'sources': [u[0] for u in used], 'post': None, 'layout': info}
    lav = lambda spec: ['-f', 'lavfi', '-i', spec]  # noqa: E731
    special = {
        'neg--testcard--smptebars': lav('smptebars=size=640x360:rate=25,trim=duration=30'),
        'neg--testcard--smptehdbars': lav('smptehdbars=size=640x360:rate=25,trim=duration=30'),
        'neg--testcard--pal75bars': lav('pal75bars=size=640x360:rate=25,trim=duration=30'),
        'neg--testcard--testsrc': lav('testsrc=size=640x360:rate=25,trim=duration=30'),
        'neg--testcard--rgbtestsrc': lav('rgbtestsrc=size=640x360:rate=25,trim=duration=30'),
        'neg--testcard--testsrc2': lav('testsrc2=size=640x360:rate=25,trim=duration=30'),
        'neg--black--long-black-then-city': lav('color=black:size=640x360:rate=25,trim=duration=25') + ['-i', os.path.join(SRC, 'city.mp4'),
            '-filter_complex', '[1:v]fade=in:0:50[c];[0:v][c]concat=n=2:v=1[v]', '-map', '[v]'],
        'neg--black--fades': ['-i', os.path.join(SRC, 'rocket-launch.mp4'), '-i', os.path.join(SRC, 'lego-stopmotion.mp4')]
            + lav('color=black:size=640x360:rate=25,trim=duration=10')
            + ['-filter_complex', '[0:v]fade=out:st=5:d=3[a];[1:v]fade=in:0:50,fade=out:st=3.5:d=2[b];[a][2:v][b]concat=n=3:v=1[v]', '-map', '[v]'],
        'neg--black--fade-visualizer': ['-i', os.path.join(SRC, 'lebiniou-123446.mp4')] + lav('color=black:size=640x360:rate=25,trim=duration=12')
            + ['-filter_complex', '[0:v]fade=in:0:40,fade=out:st=4:d=2.5[a];[1:v][a]concat=n=2:v=1[v]', '-map', '[v]'],
        'neg--black--near-black-noise': lav('color=0x060606:size=640x360:rate=25,noise=alls=6:allf=t,trim=duration=30'),
        'neg--screen--terminal': lav('color=0x1e1e1e:size=640x360:rate=25,trim=duration=30')
            + ['-vf', f'drawtext=fontfile={FONT}:textfile={os.path.join(HERE, "build.py")}:fontsize=12:fontcolor=0xd0d0d0:expansion=none:x=10:y=10-t*20'],
        'neg--screen--slide': lav('color=white:size=640x360:rate=25,trim=duration=30')
            + ['-vf', f"drawtext=fontfile={FONT}:text='Quarterly results':fontsize=36:x=40:y=40,drawtext=fontfile={FONT}:text='- revenue up':fontsize=24:x=60:y=120"],
        'neg--synthetic--mandelbrot': lav('mandelbrot=size=640x360:rate=25,trim=duration=30'),
    }
    for name, args in special.items():
        jobs.append((os.path.join(OUT, 'train', name + '.mp4'), args + x264(23)))
        truth[name + '.mp4'] = {'kind': 'negative', 'negKind': name.split('--')[1], 'sources': [], 'post': None}

    # Anything in train/ or bench/ that this plan does not make (an older layout) would corrupt the truth.
    for d, keep in (('train', set(truth)), ('bench', {n + '.mp4' for n in originals})):
        for f in os.listdir(os.path.join(OUT, d)):
            if f not in keep:
                os.remove(os.path.join(OUT, d, f))
    meta = {'seed': SEED, 'fps': FPS, 'originals': originals,
            'split': {h: sorted(n for n in originals if split[n] == h) for h in ('tuning', 'heldout')},
            'families': FAMILIES, 'train': dict(sorted(truth.items()))}
    with open(os.path.join(OUT, 'truth.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    # negatives first, then the copies in a seeded order (an interrupted build leaves a spread of families)
    random.Random(SEED + 2).shuffle(jobs)
    jobs.sort(key=lambda j: 0 if os.path.basename(j[0]).startswith('neg--') else 1)
    print(f'copies and negatives: {produce(jobs)} made', file=sys.stderr)
    copies = [t for t in truth.values() if t['kind'] == 'copy']
    fams = {}
    for t in copies:
        fams[t['family']] = fams.get(t['family'], 0) + 1
    print(f'eval set in {OUT}: {len(originals)} benchmark originals ({sum(o["fast"] for o in originals.values())} fast), '
          f'{len(copies)} copies, {len(truth) - len(copies)} negatives', file=sys.stderr)
    print('copies per family: ' + ', '.join(f'{k} {v}' for k, v in sorted(fams.items())), file=sys.stderr)


if __name__ == '__main__':
    main()
