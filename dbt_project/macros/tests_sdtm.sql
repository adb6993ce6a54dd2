{#- SDTM gates (models/sdtm/): codelist membership, keys, subjects in DM. -#}

{#- Every non-NULL value of the column is a term of `codelist` in sdtm_terminology or
    adam_terminology (a list: of one of them, for a variable whose terms come from two codelists,
    such as DSDECOD). -#}
{% test in_codelist(model, column_name, codelist) %}
    {%- set codelists = [codelist] if codelist is string else codelist %}
    select {{ column_name }} as VALUE
    from {{ model }}
    where {{ column_name }} is not null
      and {{ column_name }} not in (
          select TERM from {{ ref('sdtm_terminology') }}
          where CODELIST in ({% for name in codelists %}'{{ name }}'{{ ", " if not loop.last }}{% endfor %})
          union all
          select TERM from {{ ref('adam_terminology') }}
          where CODELIST in ({% for name in codelists %}'{{ name }}'{{ ", " if not loop.last }}{% endfor %})
      )
{% endtest %}

{#- Values of the column that are also values of the same column of `other` (two lists that must
    not overlap, e.g. the codelists of the two terminology seeds). -#}
{% test disjoint_from(model, column_name, other) %}
    select distinct {{ column_name }} from {{ model }}
    intersect
    select distinct {{ column_name }} from {{ other }}
{% endtest %}

{#- Rows of the model `of` (meeting `where_clause`) whose `columns` are not a row of the tested
    model (the reverse of relationships, over several columns: e.g. every arm of DM is an arm of
    TA, every criterion of IE one of TI). `of_columns`: the same columns' names in `of`, when
    they differ. -#}
{% test contains_rows_of(model, of, columns, of_columns=none, where_clause=none) %}
    select {{ (of_columns or columns) | join(', ') }}
    from {{ of }}
    {% if where_clause %}where {{ where_clause }}{% endif %}
    except
    select {{ columns | join(', ') }}
    from {{ model }}
{% endtest %}
