{#- SDTM gates (models/sdtm/): codelist membership, keys, subjects in DM. -#}

{#- Every non-NULL value of the column is a term of `codelist` in sdtm_terminology. -#}
{% test in_codelist(model, column_name, codelist) %}
    select {{ column_name }} as VALUE
    from {{ model }}
    where {{ column_name }} is not null
      and {{ column_name }} not in (
          select TERM from {{ ref('sdtm_terminology') }} where CODELIST = '{{ codelist }}'
      )
{% endtest %}
