"""The committee report of a dialogue: "Báo cáo tổng hợp ý kiến, kiến nghị của hộ nghèo, hộ cận nghèo".

``report_data`` reads what goes in; ``report_docx``, ``report_xlsx`` and ``report_csv`` write it; ``build`` writes
the files of one request into the private exports folder; ``delivery`` queues them to organizers (on /report and
at the submission deadline). The writers import python-docx and Pillow: import them lazily.
"""
