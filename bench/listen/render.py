"""Render the bench's prompts with the MuseWave engine of one source tree, into a cache.

Runs under the project's Python (the environment MuseWave is installed in) with ``PYTHONPATH``
pointing at the tree to test; ``listen.py`` starts it. Reads a JSON list of jobs on stdin:
``{"dir": ..., "prompt": ..., "genre": ..., "seed": ..., "duration_s": ...}`` and renders each
job whose ``dir`` has no ``done.json`` yet: ``mix.wav``, ``stems/<stem>.wav``, ``score.mid``,
``plan.json``. Prints one JSON line per job as it finishes (``{"dir", "error"}`` for a job whose
render raised). Exit code 2 when the tree is not the one imported.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path


def main() -> int:
    src = Path(sys.argv[1]).resolve()
    import musewave
    from musewave.engine.pipeline import generate
    from musewave.engine.request import (
        CLI_DURATION_RANGE_S,
        DURATION_RANGE_CONTEXT,
        GenerationRequest,
    )

    imported = Path(musewave.__file__).resolve()
    if src not in imported.parents:
        print(f"musewave imported from {imported}, not from {src}", file=sys.stderr)
        return 2
    for job in json.load(sys.stdin):
        out = Path(job["dir"])
        if (out / "done.json").is_file():
            continue
        request = GenerationRequest.model_validate(
            {
                "prompt": job["prompt"],
                "genres": [job["genre"]],
                "seed": job["seed"],
                "duration_s": job["duration_s"],
                "formats": ["wav"],
                "stems": True,
                "midi": True,
            },
            context={DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S},
        )
        if out.exists():
            shutil.rmtree(out)
        started = time.perf_counter()
        try:
            result = generate(request, out)
        except Exception as error:  # one broken prompt must not stop the bench: report it
            print(json.dumps({"dir": str(out), "error": f"{type(error).__name__}: {error}"}))
            continue
        record = {
            "dir": str(out),
            "seconds": round(time.perf_counter() - started, 3),
            "integrated_lufs": result.integrated_lufs,
            "true_peak_dbtp": result.true_peak_dbtp,
        }
        (out / "done.json").write_text(json.dumps(record))
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
