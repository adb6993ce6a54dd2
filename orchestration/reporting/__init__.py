"""The study report: one self-contained HTML page from the published warehouse (study_report.py;
its outline and plots: markup.py). Nothing is imported here: the submission's one-line update of
the report (package_line.py) does not pay for the report's imports."""
