{#- The columns each DTS file must carry (the same list as orchestration/dts.py). -#}
{% macro dts_columns(raw_file) -%}
    {%- set columns = {
        'dm': ['RECID', 'SUBJID', 'SEX', 'BRTHYR', 'CONSDT', 'ICDIND', 'ICDIMP', 'ETIOLCONF'],
        'ie': ['RECID', 'SUBJID', 'IETESTCD', 'IEORRES'],
        'ex': ['RECID', 'SUBJID', 'EXSTDTC', 'EXDOSE', 'EXROUTE', 'EXLOC', 'EXLOT'],
        'sv': ['RECID', 'SUBJID', 'VISIT', 'SVSTDTC'],
        'echo': ['RECID', 'SUBJID', 'VISIT', 'ECHODTC', 'LVEF', 'LVEDV', 'LVESV', 'LVEDD', 'LVESD'],
        'ct': ['RECID', 'SUBJID', 'VISIT', 'CTDTC', 'LVEF', 'LVEDV', 'LVESV', 'IVS', 'LVPW'],
        'lb': ['RECID', 'SUBJID', 'VISIT', 'LBDTC', 'LBTESTCD', 'LBORRES', 'LBORRESU', 'LBORNRLO', 'LBORNRHI'],
        'fs': ['RECID', 'SUBJID', 'VISIT', 'FSDTC', 'NYHA', 'SMWD'],
        'qs': ['RECID', 'SUBJID', 'VISIT', 'QSDTC', 'QSCAT', 'QSTESTCD', 'QSORRES'],
        'ae': ['RECID', 'SUBJID', 'AESPID', 'AETERM', 'AEDECOD', 'AEBODSYS', 'AESTDTC', 'AEENDTC', 'AESEV', 'AESER', 'AEREL', 'AEOUT'],
        'ds': ['RECID', 'SUBJID', 'DSDECOD', 'DSSTDTC'],
    } -%}
    {{ return(columns[raw_file]) }}
{%- endmacro %}
