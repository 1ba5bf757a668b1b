"""Tiny randomly initialised Hugging Face sequence classifiers saved to folders, for tests (no network).

Each family gets its own tokenizer kind: BERT and DistilBERT the packaged MiniLM WordPiece
vocabulary, RoBERTa a byte-level BPE and ALBERT a SentencePiece-style Unigram, both trained here
with the ``tokenizers`` library on a few sentences.
"""

from __future__ import annotations

from pathlib import Path

import torch

CORPUS = ["the movie was great and the acting was wonderful", "a dull , boring and wooden film",
          "I loved it !", "the plot is bad but the score is good", "not good , not bad , just fine",
          "what a terrible waste of time", "brilliant performances all around", "The Acting Is Wooden"] * 4
FAMILIES = ("bert", "roberta", "distilbert", "albert")
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37,
         "max_position_embeddings": 64, "initializer_range": 0.3}  # wide weights: scores far from 0
LABELS = {0: "NEGATIVE", 1: "POSITIVE"}


def _bpe_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return RobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


def _unigram_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(CORPUS, trainers.UnigramTrainer(vocab_size=120, special_tokens=specials,
                                                            unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def tokenizer_for(family: str):
    """The test tokenizer of ``family`` (see the module docstring)."""
    if family in ("bert", "distilbert"):
        from transformers import AutoTokenizer

        from core.data.pretrained import minilm_dir
        return AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)
    return _bpe_tokenizer() if family == "roberta" else _unigram_tokenizer()


def classifier_for(family: str, vocab_size: int, seed: int = 0, num_labels: int = 2):
    """A tiny random ``...ForSequenceClassification`` of ``family`` with ``vocab_size`` tokens, in eval mode."""
    import transformers as tf

    torch.manual_seed(seed)
    labels = {"id2label": {i: LABELS.get(i, f"L{i}") for i in range(num_labels)}, "num_labels": num_labels}
    if family == "bert":
        config = tf.BertConfig(vocab_size=vocab_size, **SMALL, **labels)
        return tf.BertForSequenceClassification(config).eval()
    if family == "roberta":
        config = tf.RobertaConfig(vocab_size=vocab_size, **{**SMALL, "max_position_embeddings": 70}, pad_token_id=1,
                                  bos_token_id=0, eos_token_id=2, **labels)
        return tf.RobertaForSequenceClassification(config).eval()
    if family == "distilbert":
        config = tf.DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=2, hidden_dim=37,
                                     max_position_embeddings=64, initializer_range=0.3, **labels)
        return tf.DistilBertForSequenceClassification(config).eval()
    config = tf.AlbertConfig(vocab_size=vocab_size, embedding_size=16, **SMALL, pad_token_id=0, **labels)
    return tf.AlbertForSequenceClassification(config).eval()


def save_classifier(family: str, directory: Path, seed: int = 0, num_labels: int = 2) -> Path:
    """Build a tiny ``family`` classifier and its tokenizer and ``save_pretrained`` both into ``directory``."""
    tokenizer = tokenizer_for(family)
    model = classifier_for(family, len(tokenizer), seed, num_labels)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
