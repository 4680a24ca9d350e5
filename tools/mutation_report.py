"""Summarise a finished ``mutmut run`` as the tables of docs/testing.md.

Reads ``mutmut results --all true`` (every mutant's status) and ``mutmut show`` (each
survivor's diff), counts killed/survived per module, and gives each survivor a one-line reason:
either a rule that recognises an equivalent mutant (the same behaviour on every input the code
accepts) or a reason written for that mutant below. Survivors without a reason are listed as
"NOT CLASSIFIED", so a new gap cannot hide.

    OMP_NUM_THREADS=1 DEPTHSTYLE_SHARED=../shared mutmut run --max-children 2
    python tools/mutation_report.py > /tmp/mutation.md
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter, defaultdict

# (regex on the mutated lines, reason): mutants that cannot change behaviour here
RULES = [
    (r"shape\[\+[12]\]|shape\[\+2:\]|cumsum\(\+[12]\)",
     "equivalent: index +2/+1 is the same axis as -2/-1 on the 4-D tensors these functions take"),
    (r"dtype=None|device=None|\.to\(None\)|dtype=stats\[[01]\]\[[01]\]|device=stats\[[01]\]"
     r"\[[01]\]|tensor\(\[float\(x\) for x in weights\], device|^\s*\+\s*\)\)?\.tolist\(\)|"
     r"_QUANTILES, device=p\.device\)|^\s*\+\s*\)$",
     "equivalent: every statistic shares one dtype and device (and the defaults are CPU float32)"),
    (r"strict=(None|False)|stats, \)\)", "equivalent: the lengths are checked before the zip"),
    (r"align_corners=None|mode=\"bilinear\", \)|^\)\.clamp\(0, 1\)\)?$",
     "equivalent: bilinear with align_corners=None (or left out) is align_corners=False"),
    (r"\.clamp\(", "equivalent: the bound cannot bind (the values are already in range)"),
    (r"vals\.numel\(\)", "sampling of maps over 1 MP for the quantiles: a subsample's quantiles, "
                         "not exercised by the tests (maps that large are slow to test)"),
    (r"1e-12|1\.000000000001", "tolerance of the flatness test: equivalent except for spreads "
                               "within float rounding of zero"),
    (r"limit = |k = min\(2 \* k - 1|while bool\(\(m (!=|==) [01]\)", "equivalent: the hole "
     "filling stops when a pass fills nothing, so the window limit, its growth and the loop "
     "test only change how many passes it takes"),
    (r"isinstance\(values, torch\.Tensor\)", "equivalent: np.asarray of a CPU tensor and the "
                                             "tensor itself give the same values"),
    (r"raise \w+\(None\)|raise \w+\(f?\"XX|^f?\"XX|log\.\w+\(f?\"XX|tuple\(None\)|"
     r"f\"\{strength\.shape\[2\]\}|\{feat\.shape\[2\]\}",
     "message text only (the error is still raised)"),
]

# mutant name prefix -> reason, for survivors no rule above recognises
MANUAL = {
    "depthstyle.strength.x_check_strength_params__mutmut_15":
        "equivalent: float('INF') is infinity too",
    "depthstyle.strength.x_strength_from_proximity__mutmut_26":
        "equivalent: strength depends on p - mean(p), so 2 - p and 1 - p give the same map",
    "depthstyle.ops.x_blend__mutmut_16":
        "equivalent: torch.lerp with a float weight is the scalar formula",
    "depthstyle.ops.x_restyle__mutmut_21":
        "equivalent: with one strength group the grouped path is the plain one",
    "depthstyle.ops.x_restyle__mutmut_22":
        "equivalent: with one strength group the grouped path is the plain one",
    "depthstyle.ops.x_restyle__mutmut_20": "message text only (the error is still raised)",
    "depthstyle.depth.maps.x_proximity_from_values__mutmut_62":
        "equivalent: resizing to the map's own size is the identity",
    "depthstyle.depth.maps.x_normalize_proximity__mutmut_34":
        "equivalent: the quantile tensor defaults to float32 on the CPU",
    "depthstyle.ops.x_masked_style_stats__mutmut_15":
        "equivalent: every statistic shares one dtype",
    "depthstyle.ops.x_masked_style_stats__mutmut_16":
        "equivalent: every statistic shares one dtype",
    "depthstyle.ops.x_mix_style_stats__mutmut_11":
        "equivalent: the weights default to the CPU, where the statistics are",
    "depthstyle.strength.x_strength_core__mutmut_21":
        "equivalent: a 0-d float32 bound does not change the map's dtype",
    "depthstyle.strength.x_strength_core__mutmut_22":
        "equivalent on the CPU (a 0-d CPU tensor mixes with any device)",
    "depthstyle.depth.maps.x_normalize_proximity__mutmut_36":
        "tolerance of the flatness test: equivalent except for spreads within float rounding "
        "of zero",
    # pipeline
    "depthstyle.pipeline.xǁStylizerǁ__init____mutmut_7":
        "equivalent on the CPU: half precision only acts on CUDA (the engine ignores it elsewhere)",
    "depthstyle.pipeline.xǁStylizerǁ__init____mutmut_21":
        "equivalent: half=None and half=False are both off",
    "depthstyle.pipeline.xǁStylizerǁ__init____mutmut_28":
        "equivalent: the engine's own default for half is False too",
    "depthstyle.pipeline.xǁStylizerǁ__init____mutmut_9":
        "equivalent: the engine rounds the tile size down to a multiple of the stride (8): "
        "2049 and 2048 give 2048",
    "depthstyle.pipeline.xǁStylizerǁ__init____mutmut_33":
        "equivalent: select_device(None) is select_device('auto')",
    "depthstyle.pipeline.xǁStylizerǁ_load__mutmut_33":
        "equivalent: resize_image(t, None) returns t unchanged",
    "depthstyle.pipeline.xǁStylizerǁ_load__mutmut_36":
        "equivalent: upscale=None is falsy, like False",
    "depthstyle.pipeline.xǁStylizerǁstyle_stats__mutmut_36":
        "equivalent: popitem(last=None) pops the oldest entry, like last=False",
    "depthstyle.pipeline.xǁStylizerǁproximity__mutmut_64":
        "equivalent on the CPU: .to(None) leaves the content where it is, which is the "
        "engine's device there (a CUDA engine's depth model would get a CPU tensor)",
    "depthstyle.pipeline.xǁStylizerǁ__call____mutmut_32":
        "equivalent except for a mask whose aspect is off by exactly 2 % (float ratios)",
}
_MESSAGE = "message text only (the error is still raised)"
# (function's mangled name, mutant numbers, reason): survivors that share one reason
GROUPS = [
    ("pipeline.xǁStylizerǁ_style_key", (3, 4, 11, 12),
     "equivalent: the key's tag only separates tensor keys from file keys, which already "
     "differ in length"),
    ("pipeline.xǁStylizerǁ_style_key", (16, 19),
     "equivalent: the fallback only keys a missing file, which is never cached (loading it "
     "fails)"),
    # io and depth maps
    ("io.x__current_umask", (2, 3, 5, 6, 7),
     "equivalent: without the /proc line the umask is read by setting and restoring it, "
     "which gives the same value (tested both ways)"),
    ("io.x__current_umask", (16,),
     "equivalent: the umask set while reading is restored at once; its value never shows"),
    ("io.x__high_bit_to_float", (11, 12, 20, 21),
     "equivalent: the start value of max() only matters for empty images, which are refused "
     "before, or below the threshold it is compared with"),
    ("io.x__high_bit_to_float", (22,),
     "equivalent: at a maximum of exactly 65535 both branches divide by 65535"),
    ("io.x__high_bit_to_float", (2,), "equivalent: astype(None) is float64, the type asked for"),
    ("io.x__open_checked", (2,),
     "equivalent: every caller passes the label it built from the source"),
    ("io.x__open_checked", (31, 40), _MESSAGE),
    ("io.x__open_checked", (43, 45, 47),
     "unreachable: Pillow refuses to open an image with a zero side before this check"),
    ("io.x__read_pfm", (49,),
     "equivalent: a scale of 0 is refused before the byte order is chosen"),
    ("io.x__read_pfm", (11, 60, 61), _MESSAGE),
    ("io.x__read_pfm", (79,),
     "equivalent: read_map_array converts every map to native float32 afterwards"),
    ("io.x__to_rgb_alpha", (29, 37, 38),
     "equivalent: Pillow converts a palette image without transparency to RGB for convert() "
     "and for a mode name it does not know"),
    ("io.x_load_image", (14,),
     "equivalent: a (3, 1, 1) background broadcasts over (1, 3, H, W) like (1, 3, 1, 1)"),
    ("io.x_load_image", (21,),
     "equivalent: the background tensor defaults to float32, the image's type"),
    ("io.x_read_map_array", (103, 104, 105),
     "unreachable: no file format Pillow reads opens in YCbCr mode (JPEG and TIFF give RGB)"),
    ("io.x_read_map_array", (27, 28, 37, 39, 48, 49, 52, 54, 55, 56),
     "equivalent: any kind other than npy and pfm is decoded as an image, and the bytes are "
     "only read for npy and pfm"),
    ("io.x_read_map_array", (62, 64),
     "equivalent: np.load refuses pickles by default (allow_pickle=False)"),
    ("io.x_read_map_array", (87, 91), _MESSAGE),
    ("io.x_resize_image", (13,),
     "equivalent: resizing to the same size with bicubic and align_corners=False is the "
     "identity"),
    ("io.x_resize_image", (68,),
     "equivalent: bilinear/bicubic with align_corners left out is align_corners=False"),
    ("io.x_save_image", (11,), _MESSAGE),
    ("io.x_save_image", (30,),
     "equivalent: Pillow's PNG, BMP and TIFF writers ignore a quality argument"),
    ("io.x_to_pil", (58, 60, 64, 66),
     "equivalent: Image.fromarray infers the same mode from the array's shape and type"),
    ("depth.maps.x_fill_invalid", (39,),
     "equivalent: the window counts valid pixels, so it is 0 or at least 1, never 0.5"),
]
for function, numbers, why in GROUPS:
    MANUAL.update({f"depthstyle.{function}__mutmut_{n}": why for n in numbers})

def _mutmut(*args: str) -> str:
    return subprocess.run(["mutmut", *args], capture_output=True, text=True, check=False).stdout


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detail", nargs="*", metavar="MODULE",
                    default=["depthstyle.strength", "depthstyle.depth.maps", "depthstyle.ops"],
                    help="modules whose survivors are listed one by one (default: the core)")
    args = ap.parse_args()
    status = {}
    for line in _mutmut("results", "--all", "true").splitlines():
        m = re.match(r"\s*(\S+): (\w[\w ]*)", line)
        if m:
            status[m.group(1)] = m.group(2).strip()
    per_module: dict[str, Counter] = defaultdict(Counter)
    for name, st in status.items():
        module = name.split(".x_")[0].split(".xǁ")[0]
        per_module[module][st] += 1
    print("| module | mutants | killed | timeout | survived | killed % |")
    print("|---|---|---|---|---|---|")
    total = Counter()
    for module in sorted(per_module):
        c = per_module[module]
        total.update(c)
        n = sum(c.values())
        untested = f" ({c['no tests']} not reached by the selected tests)" if c["no tests"] \
            else ""
        print(f"| `{module}` | {n} | {c['killed']} | {c['timeout']} | "
              f"{c['survived'] + c['no tests']}{untested} | "
              f"{100 * (c['killed'] + c['timeout']) / n:.1f} |")
    n = sum(total.values())
    print(f"| **all** | {n} | {total['killed']} | {total['timeout']} | "
          f"{total['survived'] + total['no tests']} | "
          f"{100 * (total['killed'] + total['timeout']) / n:.1f} |")
    print()
    print("| surviving mutant | change | reason |")
    print("|---|---|---|")
    for name in sorted(k for k, v in status.items() if v in ("survived", "no tests")
                       and k.split(".x_")[0].split(".xǁ")[0] in args.detail):
        diff = [ln for ln in _mutmut("show", name).splitlines()
                if ln.startswith(("+ ", "- ", "+\t", "-\t")) or re.match(r"^[+-]\s", ln)]
        added = " ".join(ln[1:].strip() for ln in diff if ln.startswith("+"))
        reason = MANUAL.get(name) or next((why for pat, why in RULES
                                           if re.search(pat, added, re.M)), "NOT CLASSIFIED")
        if status[name] == "no tests":
            reason = f"not reached by the selected tests; {reason}"
        change = added.replace("|", "\\|")
        if len(change) > 90:
            change = change[:87] + "..."
        print(f"| `{name.replace('depthstyle.', '')}` | `{change}` | {reason} |")


if __name__ == "__main__":
    main()
