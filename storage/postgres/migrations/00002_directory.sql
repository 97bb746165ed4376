-- +goose Up
-- The directory finds a company by its 法人番号 (corporate number), held
-- in the JSON body like every other company field.
CREATE INDEX companies_corporate_number ON companies ((body ->> 'CorporateNumber'));

-- +goose Down
DROP INDEX companies_corporate_number;
