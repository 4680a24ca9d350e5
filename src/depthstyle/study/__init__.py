"""Pairwise preference studies: design, store, statistics, report (docs/study.md)."""

from depthstyle.study.analysis import (
    Judgement,
    PairResult,
    binomial_test,
    bootstrap_bradley_terry,
    bradley_terry,
    krippendorff_alpha,
    pairwise,
    power_table,
    wilson,
)
from depthstyle.study.design import (
    DEFAULT_QUESTIONS,
    StudyDesign,
    StudyItem,
    Trial,
    build_design,
    participant_trials,
    scan_outputs,
)
from depthstyle.study.report import StudyReport, analyse, write_report
from depthstyle.study.store import Answer, StudyStore

__all__ = [
    "Judgement", "PairResult", "binomial_test", "bootstrap_bradley_terry", "bradley_terry",
    "krippendorff_alpha", "pairwise", "power_table", "wilson", "DEFAULT_QUESTIONS",
    "StudyDesign", "StudyItem", "Trial", "build_design", "participant_trials", "scan_outputs",
    "StudyReport", "analyse", "write_report", "Answer", "StudyStore",
]
