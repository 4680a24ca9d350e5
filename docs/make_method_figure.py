"""Draw docs/figures/strength.png: strength vs proximity for several offsets and contrasts.

Run: python docs/make_method_figure.py  (needs matplotlib)
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from depthstyle.strength import DEFAULT_CONTRAST, DEFAULT_OFFSET, strength_from_proximity  # noqa: E402


def main() -> None:
    # Proximity uniformly spread over [0, 1], so mean(P) = 0.5 (the sigmoid's centre).
    p = torch.linspace(0, 1, 401).view(1, 1, 1, -1)
    x = p.flatten().numpy()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for c in (1, 5, DEFAULT_CONTRAST, 20, 50):
        s = strength_from_proximity(p, DEFAULT_OFFSET, c).flatten().numpy()
        axes[0].plot(x, s, label=f"contrast {c:g}", lw=2.2 if c == DEFAULT_CONTRAST else 1.2)
    axes[0].set_title(f"offset = {DEFAULT_OFFSET} (default)")
    for o in (0.0, DEFAULT_OFFSET, 0.5, 0.8):
        s = strength_from_proximity(p, o, DEFAULT_CONTRAST).flatten().numpy()
        axes[1].plot(x, s, label=f"offset {o:g}", lw=2.2 if o == DEFAULT_OFFSET else 1.2)
    axes[1].set_title(f"contrast = {DEFAULT_CONTRAST:g} (default)")
    for ax in axes:
        ax.set_xlabel("proximity P (0 = farthest, 1 = nearest)")
        ax.axvline(0.5, color="grey", ls=":", lw=0.8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("stylization strength S (alpha = 1)")
    fig.suptitle("S = 1 - min(sigmoid(contrast * (P - mean P)), 1 - offset); here mean P = 0.5")
    fig.tight_layout()
    out = Path(__file__).parent / "figures" / "strength.png"
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
