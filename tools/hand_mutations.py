"""Apply each hand mutation that once survived the suite, run the tests that now
guard it, and put the source back: every line should end in "failed".

    python tools/hand_mutations.py
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

# (what the mutation does, file, original text, mutated text, guarding tests)
MUTATIONS = [
    ("style cache keyed without the style", "src/depthstyle/pipeline.py",
     "key = None if recolor_to is not None else self._style_key(style, size)",
     "key = None if recolor_to is not None else ('any style', size)",
     ["tests/engines/test_engines.py::test_style_cache_returns_the_right_style",
      "tests/test_pipeline_steps.py::test_the_style_cache_keys_on_content_size_and_file_state"]),
    ("--levels ignored", "src/depthstyle/pipeline.py",
     "        levels = self._levels(settings)\n        content_img",
     "        levels = list(self.engine.default_levels)\n        content_img",
     ["tests/engines/test_engines.py::test_levels_setting_changes_the_output"]),
    ("tiles use their own statistics", "src/depthstyle/engines/torch_engine.py",
     "tile_stats(inbox), job,\n                             content_stats)",
     "tile_stats(inbox), job,\n                             None)",
     ["tests/engines/test_engines.py::"
      "test_tiles_use_whole_image_statistics_on_the_bundled_model"]),
    ("web example read as depth", "src/depthstyle/web/app.py",
     "DepthMapFile(job.content.depth_path, job.content.depth_kind)",
     "DepthMapFile(job.content.depth_path, \"depth\")",
     ["tests/web/test_web_api.py"]),
    ("video renders the unsmoothed strength", "src/depthstyle/video/stylize.py",
     "stylized = st(img, self.style, self.frame_settings, strength=strength_s).image",
     "stylized = st(img, self.style, self.frame_settings, strength=strength).image",
     ["tests/video/test_video.py::test_frames_are_rendered_with_the_smoothed_strength"]),
]


def main() -> int:
    caught = 0
    for name, rel, old, new, tests in MUTATIONS:
        path = ROOT / rel
        src = path.read_text()
        if src.count(old) != 1:
            print(f"{name}: the original text is no longer in {rel}; update this tool")
            continue
        path.write_text(src.replace(old, new))
        try:
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", *tests],
                                 capture_output=True, text=True, cwd=ROOT)
        finally:
            path.write_text(src)
        lines = run.stdout.splitlines()
        summary = next((ln for ln in reversed(lines) if "passed" in ln or "failed" in ln), "")
        failed = [ln.split(" - ")[0] for ln in lines if ln.startswith("FAILED")][:1]
        caught += run.returncode != 0
        print(f"{name}: {summary} {' '.join(failed)}")
    print(f"{caught} of {len(MUTATIONS)} mutations caught; sources restored")
    return 0 if caught == len(MUTATIONS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
