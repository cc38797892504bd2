"""Checkers for the workbook's exercises, one module per exercise.

Each ``check_*`` runs the student's function on a few fixed random cases
against the reference (``backprop_core``, or ``workbook.experiments`` for the
experiment of notebook 04), prints its verdict, and returns True or False; a
notebook's check cell asserts it (``assert checks.check_forward(forward)``),
so that an autograder scores a wrong answer 0. A failure says which output is
wrong and by how much and, where it recognises a typical mistake, names it:
the checker computes that mistake's answer with the reference and compares.
The student's errors never escape as tracebacks, verdicts never show an
object's repr or address, and the checkers work on their own copies of the
arguments.
"""

from workbook.checks.der_sigmoid import check_der_sigmoid
from workbook.checks.forward import check_forward
from workbook.checks.gradient_check import check_gradient_check
from workbook.checks.gradients import check_gradients
from workbook.checks.rerun_row import check_rerun_row
from workbook.checks.step import check_step

__all__ = ["check_der_sigmoid", "check_forward", "check_gradients", "check_step",
           "check_gradient_check", "check_rerun_row"]
