// The pages catalog (en).
export default {
};
